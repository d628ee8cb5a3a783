-- name: publish_many :many
-- Publish several messages in one statement (one NOTIFY); returns ids in input order, the
-- existing id where an idempotency key was published before.
WITH input AS (
    SELECT *
      FROM unnest(%(destinations)s::text[], %(event_types)s::text[], %(payloads)s::jsonb[],
                  %(ordering_keys)s::text[], %(idempotency_keys)s::text[], %(correlation_ids)s::uuid[])
           WITH ORDINALITY AS t(destination, event_type, payload, ordering_key, idempotency_key,
                                correlation_id, n)
), inserted AS (
    INSERT INTO outbox.messages
           (destination, event_type, payload, ordering_key, idempotency_key, correlation_id)
    SELECT destination, event_type, payload, ordering_key, idempotency_key, correlation_id
      FROM input
     ORDER BY n
        ON CONFLICT ON CONSTRAINT messages_idempotency_key DO NOTHING
    RETURNING id, destination, idempotency_key
)
SELECT coalesce(i.id, m.id) AS id
  FROM input
  LEFT JOIN inserted i USING (destination, idempotency_key)
  LEFT JOIN outbox.messages m
         ON m.destination = input.destination AND m.idempotency_key = input.idempotency_key
 ORDER BY input.n
