-- name: register_job :exec
-- Make sure a job has its row; a changed interval takes effect from the next tick.
INSERT INTO outbox.jobs (name, interval_seconds) VALUES (%(name)s, %(interval)s)
    ON CONFLICT (name) DO UPDATE SET interval_seconds = EXCLUDED.interval_seconds

-- name: win_tick :one
-- Take the job's due tick: exactly one dispatcher wins it. A run whose holder died lapses at
-- running_until and can be taken over. force=true runs now whatever the schedule (jobs run).
UPDATE outbox.jobs
   SET next_run_at = now() + make_interval(secs => interval_seconds),
       running_by = %(worker)s,
       running_until = now() + make_interval(secs => %(lease_seconds)s),
       last_started_at = now()
 WHERE name = %(name)s
   AND (running_by IS NULL OR running_until < now())
   AND (%(force)s OR next_run_at <= now())
RETURNING name

-- name: start_run :one
INSERT INTO outbox.job_runs (name, worker, started_at) VALUES (%(name)s, %(worker)s, now())
RETURNING id

-- name: finish_run :exec
WITH run AS (
    UPDATE outbox.job_runs SET finished_at = now(), outcome = %(outcome)s, detail = %(detail)s
     WHERE id = %(run_id)s
)
UPDATE outbox.jobs
   SET running_by = NULL, running_until = NULL, last_finished_at = now(),
       last_outcome = %(outcome)s, last_detail = %(detail)s
 WHERE name = %(name)s AND running_by = %(worker)s

-- name: list_jobs :many
SELECT name, interval_seconds, next_run_at, running_by, last_started_at, last_finished_at,
       last_outcome, last_detail
  FROM outbox.jobs ORDER BY name

-- name: prune_frontier :one
-- The id of the oldest message inside the retention window (or one past the newest). Ids follow
-- creation order, so the history to prune lies below it and each batch walks the primary key
-- over that range only, instead of re-reading every old range of the created_at index.
SELECT coalesce(
         (SELECT id FROM outbox.messages
           WHERE created_at >= now() - make_interval(days => %(days)s)
           ORDER BY id LIMIT 1),
         (SELECT max(id) + 1 FROM outbox.messages),
         0)

-- name: prune_delivered :one
-- Remove one batch of finished history older than the retention age (attempts go with their
-- message), below the frontier found by prune_frontier. Small batches keep locks short; the job
-- loops until a batch comes back short.
WITH doomed AS (
    SELECT id FROM outbox.messages
     WHERE id < %(below)s
       AND status IN ('delivered', 'superseded', 'cancelled')
       AND created_at < now() - make_interval(days => %(days)s)
     ORDER BY id
     LIMIT %(batch)s
       FOR UPDATE SKIP LOCKED
), gone AS (
    DELETE FROM outbox.messages m USING doomed d WHERE m.id = d.id RETURNING 1
)
SELECT count(*) FROM gone

-- name: prune_runs :one
-- Old job and sync run rows, in one go (they are few).
WITH a AS (DELETE FROM outbox.job_runs WHERE started_at < now() - make_interval(days => %(days)s) RETURNING 1),
     b AS (DELETE FROM outbox.sync_runs WHERE started_at < now() - make_interval(days => %(days)s) RETURNING 1)
SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b)

-- name: reap_all_leases :one
-- Lapsed leases of every destination, including ones no running dispatcher serves.
WITH lapsed AS (
    UPDATE outbox.messages
       SET status = 'retrying', lease_owner = NULL, lease_expires_at = NULL,
           next_attempt_at = now(), last_error_code = 'LEASE_EXPIRED',
           last_error = 'worker ' || lease_owner || ' stopped renewing its lease', updated_at = now()
     WHERE status = 'in_flight' AND lease_expires_at < now()
    RETURNING id, attempts, last_error
), recorded AS (
    INSERT INTO outbox.attempts
           (message_id, number, worker, started_at, finished_at, outcome, error_code, error_message, duration_ms)
    SELECT id, attempts, %(worker)s, now(), now(), 'retry', 'LEASE_EXPIRED', last_error, 0 FROM lapsed
    RETURNING 1
)
SELECT count(*) FROM recorded

-- name: blocked_longer_than :many
SELECT destination, ordering_key, head_message_id, last_error_code,
       extract(epoch FROM blocked_for)::float8
  FROM outbox.blocked_keys
 WHERE blocked_for > make_interval(secs => %(seconds)s)
 ORDER BY blocked_for DESC
 LIMIT 50

-- name: reconciliation :many
SELECT problem, order_number, placed_at, message_id, message_status, last_error_code
  FROM outbox.reconciliation ORDER BY placed_at

-- name: dead_letter_causes :many
SELECT destination, coalesce(error_code, 'unknown'), messages
  FROM outbox.dead_letter_causes ORDER BY messages DESC

-- name: record_drift :exec
-- One row per finding; a clean check records a single row of kind 'clean' so the latest check
-- of a destination is always visible.
INSERT INTO outbox.mapping_drift
       (destination, mapping_version, object_name, field, kind, detail, blocks)
SELECT %(destination)s, %(version)s, f.object_name, f.field, f.kind, f.detail,
       coalesce(ARRAY(SELECT jsonb_array_elements_text(f.blocks)), '{}')
  FROM jsonb_to_recordset(%(findings)s::jsonb)
       AS f(object_name text, field text, kind text, detail text, blocks jsonb)
