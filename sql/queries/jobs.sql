-- name: register_job :exec
-- Make sure a job has its row; a changed interval takes effect from the next tick.
INSERT INTO outbox.jobs (name, interval_seconds) VALUES (%(name)s, %(interval)s)
    ON CONFLICT (name) DO UPDATE SET interval_seconds = EXCLUDED.interval_seconds

-- name: win_tick :one
-- Take the job's due tick: exactly one dispatcher wins it. A run whose holder died lapses at
-- running_until (hold_seconds after it started) and can be taken over; the run rows it left
-- unfinished are closed as 'lapsed' in the same statement. force=true runs now whatever the
-- schedule (jobs run). Returns the job, the lapsed holder (or null) and the runs closed.
WITH current AS (
    SELECT name, running_by, running_until FROM outbox.jobs WHERE name = %(name)s FOR UPDATE
), won AS (
    UPDATE outbox.jobs j
       SET next_run_at = now() + make_interval(secs => j.interval_seconds),
           running_by = %(worker)s,
           running_until = now() + make_interval(secs => %(hold_seconds)s),
           last_started_at = now()
      FROM current c
     WHERE j.name = c.name
       AND (c.running_by IS NULL OR c.running_until < now())
       AND (%(force)s OR j.next_run_at <= now())
    RETURNING j.name, c.running_by AS lapsed_holder
), closed AS (
    UPDATE outbox.job_runs r
       SET finished_at = now(), outcome = 'lapsed',
           detail = 'the holder stopped before finishing; taken over by ' || %(worker)s
      FROM won
     WHERE r.name = won.name AND r.finished_at IS NULL
    RETURNING 1
)
SELECT name, lapsed_holder, (SELECT count(*) FROM closed) FROM won

-- name: start_run :one
INSERT INTO outbox.job_runs (name, worker, started_at) VALUES (%(name)s, %(worker)s, now())
RETURNING id

-- name: finish_run :exec
WITH run AS (
    -- A run closed as lapsed meanwhile (it overran its hold) keeps that outcome.
    UPDATE outbox.job_runs SET finished_at = now(), outcome = %(outcome)s, detail = %(detail)s
     WHERE id = %(run_id)s AND finished_at IS NULL
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
-- The id of the oldest message inside the retention window (or one past the newest). Most
-- history was inserted in creation order, so the bulk of it lies below this id and
-- prune_delivered walks the primary key over that range only.
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

-- name: prune_stragglers :one
-- One batch of old finished history at or above the frontier: rows whose ids do not follow
-- their creation dates (a backfill, an import, a replayed archive). Found by age through the
-- BRIN index on created_at, whose block ranges of recent rows are skipped, so a run that finds
-- none costs one pass over the ranges that still hold old rows.
WITH doomed AS (
    SELECT id FROM outbox.messages
     WHERE created_at < now() - make_interval(days => %(days)s)
       AND id >= %(below)s
       AND status IN ('delivered', 'superseded', 'cancelled')
     LIMIT %(batch)s
       FOR UPDATE SKIP LOCKED
), gone AS (
    DELETE FROM outbox.messages m USING doomed d WHERE m.id = d.id RETURNING 1
)
SELECT count(*) FROM gone

-- name: prune_stock_movements :one
-- One batch of stock movements older than the retention age that Salesforce's count already
-- reflects (at or below their product's stock_reflected_through); the others are still needed.
WITH doomed AS (
    SELECT m.id FROM commerce.stock_movements m
      JOIN commerce.products p ON p.id = m.product_id
     WHERE m.created_at < now() - make_interval(days => %(days)s)
       AND m.id <= p.stock_reflected_through
     LIMIT %(batch)s
), gone AS (
    DELETE FROM commerce.stock_movements m USING doomed d WHERE m.id = d.id RETURNING 1
)
SELECT count(*) FROM gone

-- name: prune_inbound_changes :one
-- One batch of the inbox's changes from Salesforce received before the retention age, walked
-- through inbound_changes_received from where the last batch stopped (after_at, after_id), so
-- the rows that stay are read once a run, not once a batch. A record's newest row (by
-- SystemModstamp) stays whatever its age: the next change of the record is compared with its
-- fields (inbound_previous), which is what keeps the outbox's own writes from coming back.
-- Returns the rows deleted and where the walk got to (null once past the last old row).
WITH scanned AS (
    SELECT c.id, c.object_name, c.record_id, c.system_modstamp, c.received_at
      FROM outbox.inbound_changes c
     WHERE c.received_at < now() - make_interval(days => %(days)s)
       AND c.received_at >= coalesce(%(after_at)s::timestamptz, '-infinity')
       AND (c.received_at, c.id) > (coalesce(%(after_at)s::timestamptz, '-infinity'), %(after_id)s)
     ORDER BY c.received_at, c.id
     LIMIT %(batch)s
), doomed AS (
    -- Each record's newest SystemModstamp read from the inbox's unique index, one index entry a
    -- row (a correlated max), so no batch reads the whole inbox.
    SELECT s.id FROM scanned s
     WHERE s.system_modstamp < (SELECT max(n.system_modstamp) FROM outbox.inbound_changes n
                                 WHERE n.object_name = s.object_name
                                   AND n.record_id = s.record_id)
), gone AS (
    DELETE FROM outbox.inbound_changes c
     WHERE c.id = ANY(ARRAY(SELECT d.id FROM doomed d))
    RETURNING 1
), reached AS (
    SELECT s.received_at, s.id FROM scanned s ORDER BY s.received_at DESC, s.id DESC LIMIT 1
)
SELECT (SELECT count(*) FROM gone), (SELECT received_at FROM reached), (SELECT id FROM reached)

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
