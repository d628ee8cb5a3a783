-- name: publish_many :many
-- Publish several messages in one statement (one NOTIFY) through outbox.publish_batch, which
-- checks each against the publish contract and runs with its owner's rights: a storefront's
-- role may not insert into outbox.messages itself. The messages travel as one JSON array of
-- objects: one parameter to encode and parse, where an array per column cost a third of the
-- publish. Returns (id, destination, idempotency_key) of every message, in the order given.
SELECT id, destination, idempotency_key FROM outbox.publish_batch(%(messages)s::jsonb)
