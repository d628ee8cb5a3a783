-- name: publish_many :many
-- Publish several messages in one statement (one NOTIFY). Returns (id, idempotency_key) of the
-- rows inserted; a key published before is skipped here and looked up by existing_messages.
-- Payloads travel as one JSON array rather than a jsonb[]: quoting every document into an
-- array literal cost more than the insert itself.
INSERT INTO outbox.messages
       (destination, event_type, payload, ordering_key, idempotency_key, correlation_id)
SELECT t.destination, t.event_type, p.payload, t.ordering_key, t.idempotency_key, t.correlation_id
  FROM unnest(%(destinations)s::text[], %(event_types)s::text[], %(ordering_keys)s::text[],
              %(idempotency_keys)s::text[], %(correlation_ids)s::uuid[])
       WITH ORDINALITY AS t(destination, event_type, ordering_key, idempotency_key, correlation_id, n)
  JOIN jsonb_array_elements(%(payloads)s::jsonb) WITH ORDINALITY AS p(payload, n) USING (n)
 ORDER BY t.n
    ON CONFLICT ON CONSTRAINT messages_idempotency_key DO NOTHING
RETURNING id, destination, idempotency_key

-- name: existing_messages :many
-- The ids of messages already published under these (destination, idempotency_key) pairs.
SELECT m.id, m.destination, m.idempotency_key
  FROM unnest(%(destinations)s::text[], %(idempotency_keys)s::text[]) AS k(destination, idempotency_key)
  JOIN outbox.messages m USING (destination, idempotency_key)
