-- name: publish_many :many
-- Publish several messages in one statement (one NOTIFY). Returns (id, destination,
-- idempotency_key) of the rows inserted; a key published before is skipped here and looked up
-- by existing_messages. The messages travel as one JSON array of objects: one parameter to
-- encode and parse, where an array per column cost a third of the publish. WITH ORDINALITY
-- keeps ids in the order given, which is the order an ordering key's messages are delivered in.
INSERT INTO outbox.messages
       (destination, event_type, payload, ordering_key, idempotency_key, correlation_id)
SELECT m.destination, m.event_type, m.payload, m.ordering_key, m.idempotency_key, m.correlation_id
  FROM ROWS FROM (jsonb_to_recordset(%(messages)s::jsonb)
                  AS (destination text, event_type text, payload jsonb, ordering_key text,
                      idempotency_key text, correlation_id uuid))
       WITH ORDINALITY AS m(destination, event_type, payload, ordering_key, idempotency_key,
                            correlation_id, n)
 ORDER BY m.n
    ON CONFLICT ON CONSTRAINT messages_idempotency_key DO NOTHING
RETURNING id, destination, idempotency_key

-- name: publish_new :many
-- publish_many for messages whose keys cannot exist yet: the checkout's, whose keys derive from
-- an order number it has just inserted. Without ON CONFLICT each row is a plain insert instead
-- of a speculative one, which takes a quarter off the statement. A key that does exist after all
-- raises unique_violation on messages_idempotency_key; the caller then uses publish_many.
INSERT INTO outbox.messages
       (destination, event_type, payload, ordering_key, idempotency_key, correlation_id)
SELECT m.destination, m.event_type, m.payload, m.ordering_key, m.idempotency_key, m.correlation_id
  FROM ROWS FROM (jsonb_to_recordset(%(messages)s::jsonb)
                  AS (destination text, event_type text, payload jsonb, ordering_key text,
                      idempotency_key text, correlation_id uuid))
       WITH ORDINALITY AS m(destination, event_type, payload, ordering_key, idempotency_key,
                            correlation_id, n)
 ORDER BY m.n
RETURNING id, destination, idempotency_key

-- name: existing_messages :many
-- The ids of messages already published under the (destination, idempotency_key) pairs of a
-- publish_many batch.
SELECT m.id, m.destination, m.idempotency_key
  FROM jsonb_to_recordset(%(messages)s::jsonb) AS k(destination text, idempotency_key text)
  JOIN outbox.messages m USING (destination, idempotency_key)
