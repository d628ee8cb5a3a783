-- name: set_actor :exec
-- Name the operator in the audit trail for this transaction.
SELECT set_config('outbox.actor', %(actor)s, true)

-- name: lag :many
SELECT destination, extract(epoch FROM oldest_undelivered_age)::float8, undelivered, paused_until
  FROM outbox.lag ORDER BY destination

-- name: backlog :many
SELECT destination, status::text, messages, extract(epoch FROM oldest_age)::float8, next_retry_at
  FROM outbox.backlog ORDER BY destination, status

-- name: dead_letters :many
SELECT id, destination, event_type, error_code, error_message, attempts, last_attempt_at
  FROM outbox.dead_letters
 WHERE (%(destination)s::text IS NULL OR destination = %(destination)s)
 ORDER BY id DESC
 LIMIT %(limit)s

-- name: retry :one
SELECT outbox.retry(%(message_id)s, %(reason)s)

-- name: retry_dead :one
SELECT outbox.retry_dead(%(destination)s, %(error_code)s, %(reason)s)

-- name: cancel :one
SELECT outbox.cancel(%(message_id)s, %(reason)s)

-- name: replay :one
SELECT outbox.replay(%(destination)s, %(since)s, coalesce(%(until)s::timestamptz, now()),
                     %(event_type)s, %(reason)s)

-- name: message_history :many
SELECT at, kind, number, worker, outcome, http_status, error_code, error_message, duration_ms,
       mapping_version
  FROM outbox.message_history(%(message_id)s)

-- name: recent_attempts :many
-- The newest attempts, for the status page.
SELECT a.finished_at, m.destination, a.message_id, m.event_type, a.outcome::text, a.http_status,
       a.error_code, a.duration_ms
  FROM outbox.attempts a JOIN outbox.messages m ON m.id = a.message_id
 ORDER BY a.id DESC
 LIMIT %(limit)s

-- name: drift_counts :many
SELECT destination, count(*) FILTER (WHERE kind <> 'clean') FROM outbox.current_drift GROUP BY 1

-- name: reconciliation_counts :many
SELECT problem, count(*) FROM outbox.reconciliation GROUP BY 1

-- name: blocked_key_counts :many
-- Ordering keys held by a failing head message, per destination (outbox.blocked_keys reads only
-- live rows), and how long the oldest has been held: the gauges alerts watch.
SELECT d.name, count(b.ordering_key), coalesce(max(extract(epoch FROM b.blocked_for)), 0)::float8
  FROM outbox.destinations d
  LEFT JOIN outbox.blocked_keys b ON b.destination = d.name
 GROUP BY d.name
