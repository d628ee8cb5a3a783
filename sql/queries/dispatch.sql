-- name: claim_messages :many
-- Claim up to %(limit)s deliverable messages of one destination, oldest due first, and lease
-- them to this worker. Committed at once: no transaction is held across a delivery.
-- A keyed message is claimable only when no earlier live message shares its key, so each key
-- offers at most one head and a blocked key never holds up the others.
-- The query is never prepared (a generic plan cached while the table was empty turns this
-- index scan into a sequential scan once rows pile up).
WITH candidates AS (
    SELECT m.id
      FROM outbox.messages m
     WHERE m.destination = %(destination)s
       AND m.status IN ('pending', 'retrying')
       AND m.next_attempt_at <= coalesce(%(now)s::timestamptz, now())
       AND (m.ordering_key IS NULL OR NOT EXISTS (
               SELECT 1
                 FROM outbox.messages e
                WHERE e.destination = m.destination
                  AND e.ordering_key = m.ordering_key
                  AND e.status IN ('pending', 'in_flight', 'retrying')
                  AND e.id < m.id))
       AND NOT EXISTS (
               SELECT 1 FROM outbox.destinations d
                WHERE d.name = %(destination)s
                  AND d.paused_until > coalesce(%(now)s::timestamptz, now()))
     ORDER BY m.next_attempt_at, m.id
     LIMIT %(limit)s
       FOR UPDATE OF m SKIP LOCKED
)
UPDATE outbox.messages m
   SET status = 'in_flight',
       lease_owner = %(worker)s,
       lease_expires_at = coalesce(%(now)s::timestamptz, now()) + make_interval(secs => %(lease_seconds)s),
       attempts = m.attempts + 1,
       updated_at = coalesce(%(now)s::timestamptz, now())
  FROM candidates c
 WHERE m.id = c.id
RETURNING m.id, m.event_type, m.ordering_key, m.idempotency_key, m.correlation_id, m.payload,
          m.attempts, m.created_at

-- name: reclaim_expired_leases :many
-- Give back messages whose worker stopped renewing its lease (killed, partitioned, hung),
-- recording the lapsed try as an attempt so the history shows what happened.
WITH lapsed AS (
    UPDATE outbox.messages m
       SET status = 'retrying',
           lease_owner = NULL,
           lease_expires_at = NULL,
           next_attempt_at = coalesce(%(now)s::timestamptz, now()),
           last_error_code = 'LEASE_EXPIRED',
           last_error = 'worker ' || m.lease_owner || ' stopped renewing its lease',
           updated_at = coalesce(%(now)s::timestamptz, now())
     WHERE m.destination = %(destination)s
       AND m.status = 'in_flight'
       AND m.lease_expires_at < coalesce(%(now)s::timestamptz, now())
    RETURNING m.id, m.attempts, m.last_error, m.lease_expires_at
)
INSERT INTO outbox.attempts
       (message_id, number, worker, started_at, finished_at, outcome, error_code, error_message,
        duration_ms)
SELECT l.id, l.attempts, %(worker)s, coalesce(%(now)s::timestamptz, now()),
       coalesce(%(now)s::timestamptz, now()), 'retry', 'LEASE_EXPIRED', l.last_error, 0
  FROM lapsed l
RETURNING message_id

-- name: extend_leases :exec
-- Heartbeat: keep the lease of messages still being delivered by this worker.
UPDATE outbox.messages
   SET lease_expires_at = coalesce(%(now)s::timestamptz, now()) + make_interval(secs => %(lease_seconds)s)
 WHERE id = ANY(%(ids)s::bigint[]) AND status = 'in_flight' AND lease_owner = %(worker)s

-- name: finish_messages :many
-- Record a delivered batch in one statement: the attempt rows and each message's next state,
-- applied only where the message is still in flight under this worker's lease (a worker whose
-- lease was taken over changes nothing). A rate-limited try gives its attempt back.
WITH results AS (
    SELECT *
      FROM unnest(%(ids)s::bigint[], %(numbers)s::int[], %(outcomes)s::outbox.attempt_outcome[],
                  %(statuses)s::outbox.message_status[], %(retry_in)s::float8[],
                  %(http_statuses)s::int[], %(error_codes)s::text[], %(error_messages)s::text[],
                  %(record_ids)s::text[], %(started_at)s::timestamptz[],
                  %(finished_at)s::timestamptz[], %(durations_ms)s::float8[])
           AS r(id, number, outcome, status, retry_in, http_status, error_code,
                error_message, record_id, started_at, finished_at, duration_ms)
), updated AS (
    UPDATE outbox.messages m
       SET status = r.status,
           next_attempt_at = coalesce(now() + make_interval(secs => r.retry_in), m.next_attempt_at),
           lease_owner = NULL,
           lease_expires_at = NULL,
           attempts = m.attempts - (r.outcome IN ('rate_limited', 'released'))::int,
           last_error_code = CASE WHEN r.outcome = 'delivered' THEN m.last_error_code ELSE r.error_code END,
           last_error = CASE WHEN r.outcome = 'delivered' THEN m.last_error ELSE r.error_message END,
           delivered_at = CASE WHEN r.outcome = 'delivered' THEN r.finished_at END,
           destination_record_id = coalesce(r.record_id, m.destination_record_id),
           updated_at = r.finished_at
      FROM results r
     WHERE m.id = r.id AND m.status = 'in_flight' AND m.lease_owner = %(worker)s
    RETURNING m.id
)
INSERT INTO outbox.attempts
       (message_id, number, worker, started_at, finished_at, outcome, http_status, error_code,
        error_message, duration_ms, mapping_version)
SELECT r.id, r.number, %(worker)s, r.started_at, r.finished_at, r.outcome, r.http_status,
       r.error_code, r.error_message, r.duration_ms, %(mapping_version)s
  FROM results r JOIN updated u USING (id)
RETURNING message_id

-- name: pause_destination :exec
-- Hold every dispatcher off a destination until its rate limit resets (a wait, not an attempt).
UPDATE outbox.destinations
   SET paused_until = greatest(coalesce(paused_until, '-infinity'),
                               now() + make_interval(secs => %(seconds)s))
 WHERE name = %(destination)s

-- name: destination_paused_until :one
SELECT paused_until FROM outbox.destinations WHERE name = %(destination)s

-- name: destination_names :many
-- The destinations messages may be published to: a configured name must be one of them.
SELECT name FROM outbox.destinations ORDER BY name
