-- Per-minute figures for the console's charts (outbox.minutes), kept by the status sampler.

-- name: roll_up_span :one
-- The minutes the next roll-up pass counts: from the watermark, at most %(max_minutes)s of them,
-- none closer to now than %(settle_seconds)s (by then the short transactions that record
-- attempts have long committed). Locks the watermark row for the pass's transaction: other
-- dispatchers skip it (no row) and leave the pass to this one.
SELECT r.rolled_until,
       least(r.rolled_until + make_interval(mins => %(max_minutes)s),
             date_trunc('minute', coalesce(%(now)s::timestamptz, now())
                                  - make_interval(secs => %(settle_seconds)s)))
  FROM outbox.rollups r
 WHERE r.name = 'minutes'
   FOR UPDATE SKIP LOCKED

-- name: roll_up_count :exec
-- Count the attempts of [since, until) per destination and minute (the BRIN index on
-- finished_at finds them: attempts are appended in time order). A minute counted again is
-- replaced, never added to.
INSERT INTO outbox.minutes AS t (destination, minute, delivered, failed, dead)
SELECT m.destination, date_trunc('minute', a.finished_at),
       count(*) FILTER (WHERE a.outcome = 'delivered'),
       count(*) FILTER (WHERE a.outcome = 'retry'),
       count(*) FILTER (WHERE a.outcome = 'dead')
  FROM outbox.attempts a
  JOIN outbox.messages m ON m.id = a.message_id
 WHERE a.finished_at >= %(since)s AND a.finished_at < %(until)s
 GROUP BY 1, 2
ON CONFLICT (destination, minute) DO UPDATE
   SET delivered = excluded.delivered, failed = excluded.failed, dead = excluded.dead

-- name: roll_up_advance :exec
UPDATE outbox.rollups SET rolled_until = %(until)s WHERE name = 'minutes'

-- name: record_lag_minute :exec
-- The sampled lag of each destination, kept per minute (the largest age seen in the minute).
INSERT INTO outbox.minutes AS t (destination, minute, oldest_age_seconds, undelivered)
SELECT s.destination, date_trunc('minute', coalesce(%(now)s::timestamptz, now())), s.age, s.n
  FROM unnest(%(destinations)s::text[], %(ages)s::float8[], %(undelivered)s::int[])
       AS s (destination, age, n)
ON CONFLICT (destination, minute) DO UPDATE
   SET oldest_age_seconds = greatest(t.oldest_age_seconds, excluded.oldest_age_seconds),
       undelivered = excluded.undelivered

-- name: prune_minutes :exec
DELETE FROM outbox.minutes
 WHERE minute < coalesce(%(now)s::timestamptz, now()) - interval '8 days'

-- name: console_rolled_until :one
SELECT rolled_until FROM outbox.rollups WHERE name = 'minutes'

-- name: console_minutes :many
-- Per destination and minute since %(since)s: the rolled-up counts before %(rolled_until)s
-- (console_rolled_until), and the attempts themselves from then on (the minute or two not
-- rolled up yet, found through the BRIN index on finished_at). A parameter rather than a join,
-- so the planner knows how recent the range is. At most 1,440 rows per destination for a day.
WITH tail AS (
    SELECT m.destination, date_trunc('minute', a.finished_at) AS minute,
           count(*) FILTER (WHERE a.outcome = 'delivered') AS delivered,
           count(*) FILTER (WHERE a.outcome = 'retry') AS failed,
           count(*) FILTER (WHERE a.outcome = 'dead') AS dead
      FROM outbox.attempts a
      JOIN outbox.messages m ON m.id = a.message_id
     WHERE a.finished_at >= greatest(%(rolled_until)s::timestamptz, %(since)s::timestamptz)
     GROUP BY 1, 2
), rolled AS (
    SELECT n.* FROM outbox.minutes n WHERE n.minute >= %(since)s::timestamptz
)
SELECT coalesce(r.destination, t.destination) AS destination,
       coalesce(r.minute, t.minute) AS minute,
       coalesce(t.delivered, CASE WHEN r.minute < %(rolled_until)s THEN r.delivered END, 0)::int
           AS delivered,
       coalesce(t.failed, CASE WHEN r.minute < %(rolled_until)s THEN r.failed END, 0)::int
           AS failed,
       coalesce(t.dead, CASE WHEN r.minute < %(rolled_until)s THEN r.dead END, 0)::int AS dead,
       r.oldest_age_seconds
  FROM rolled r
  FULL JOIN tail t ON t.destination = r.destination AND t.minute = r.minute
 ORDER BY 1, 2
