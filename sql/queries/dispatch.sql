-- name: claim_messages :many
-- Claim up to %(limit)s deliverable messages of one destination and lease them to this worker:
-- the heads of ordering keys (and unkeyed messages), oldest due first, each head with the
-- messages queued behind it on its key. Committed at once: no transaction is held across a
-- delivery. A head is the lowest live id of its key, so each key offers one run and a blocked
-- key never holds up the others.
--
-- What it reads does not grow with the backlog, however the backlog is spread over keys:
-- * `due`: at most 2 x limit rows of the claimable index, oldest due first. Where keys are
--   many (or absent) nearly every row is a head, and `found` keeps those that are: one probe
--   of the key index per key among the rows read (for its lowest id there), never one per
--   row, so 10 keys interleaved cost 10 probes, like a key-by-key backlog.
-- * `walk`: only when that scan was cut short by its bound (more due rows than it read) and
--   yielded fewer than limit heads, the rows read were mostly messages waiting behind their
--   key's head. Then a skip scan over the live-key index jumps from one key to the next (one
--   probe per key, never one per message) and takes each key's head if it is due (one
--   primary-key probe per key walked). It starts after %(walk_from)s, the last key this
--   worker claimed, and wraps around, so every key gets its turn; it stops as soon as it has
--   found heads for the room left (the limit less the heads among the rows read).
-- * `loose`: under the same cut, unkeyed messages due after the last row read, through the
--   index of claimable unkeyed rows: one range scan, of no more rows than there is room left,
--   however long the key backlog ahead of them. Without it, unkeyed messages newer than one
--   long key's backlog would wait until that key had drained.
-- * `beyond`: the heads walked to and those unkeyed messages share the room left, oldest due
--   first, as the rows read do. So a claim with fewer heads than the limit took every
--   claimable key and every unkeyed message that was due.
-- * `runs`: behind each head, the consecutive messages of its key that are due, at most an
--   equal share of the limit per head (10 keys: 10 each; one key: the whole batch). Unkeyed
--   heads take one place each and leave the rest to the keys (one key and 5 unkeyed: 95 of
--   the key's), so unkeyed messages taken beside a long key never shrink its runs to a share
--   they do not use. The worker delivers a run in order and stops a key at its first failure.
-- * `picked`/`locked`: up to twice the limit are picked (the heads read beyond the limit are
--   spares), and the first %(limit)s of them in claim order that no other worker holds are
--   locked FOR UPDATE SKIP LOCKED and re-checked as still claimable. Two dispatchers claiming
--   at once read the same oldest rows: the second skips what the first holds and takes the
--   spares, where it used to come back empty and wait for a poll (half the claims of two busy
--   dispatchers did).
-- * `claimed`: a run is cut at its first row another worker holds: nothing is ever claimed
--   without every earlier message of its key.
-- The daemon runs it prepared, on one generic plan per connection, with sequential and bitmap
-- scans off on those connections (dispatcher/core/claim.py): a plan made while the table was
-- empty, or while its statistics knew no ordering keys, would otherwise read the whole table.
WITH RECURSIVE due AS MATERIALIZED (
    SELECT m.id, m.ordering_key, m.next_attempt_at, row_number() OVER queue AS rank
      FROM outbox.messages m
     WHERE m.destination = %(destination)s
       AND m.status IN ('pending', 'retrying')
       AND m.next_attempt_at <= coalesce(%(now)s::timestamptz, now())
       AND NOT EXISTS (
               SELECT 1 FROM outbox.destinations d
                WHERE d.name = %(destination)s
                  AND d.paused_until > coalesce(%(now)s::timestamptz, now()))
    WINDOW queue AS (ORDER BY m.next_attempt_at, m.id)
     ORDER BY m.next_attempt_at, m.id
     LIMIT 2 * %(limit)s
), found AS MATERIALIZED (
    -- Heads among the rows read: a row is its key's head when it is the first live row of its
    -- key in the key index. Only the lowest id of each key among the rows read is probed: any
    -- other row of that key has an older live row ahead of it (that one), so it is no head.
    -- Ten keys interleaved cost ten probes, not one per row read. Every probe of that index
    -- orders by (key, id) from a range on the key, which only that index can serve; an
    -- equality on the key alone lets the planner walk the primary key or the table instead,
    -- past every row of a long key.
    SELECT d.id, d.ordering_key, d.rank
      FROM (SELECT u.id, u.ordering_key, u.rank,
                   row_number() OVER (PARTITION BY u.ordering_key ORDER BY u.id) AS nth
              FROM due u) d
     WHERE d.ordering_key IS NULL
        OR (d.nth = 1
            AND d.id = (SELECT e.id
                          FROM outbox.messages e
                         WHERE e.destination = %(destination)s
                           AND e.status IN ('pending', 'in_flight', 'retrying')
                           AND e.ordering_key IS NOT NULL
                           AND e.ordering_key >= d.ordering_key
                         ORDER BY e.ordering_key, e.id
                         LIMIT 1))
), walk (ordering_key, head, wrapped) AS (
    -- Each step is one probe of the key index: the next key and its lowest live id.
    SELECT s.ordering_key, s.id, s.wrapped
      FROM ((SELECT m.ordering_key, m.id, false AS wrapped
               FROM outbox.messages m
              WHERE m.destination = %(destination)s
                AND m.status IN ('pending', 'in_flight', 'retrying')
                AND m.ordering_key IS NOT NULL
                AND m.ordering_key > %(walk_from)s::text
              ORDER BY m.ordering_key, m.id
              LIMIT 1)
            UNION ALL
            (SELECT m.ordering_key, m.id, %(walk_from)s::text IS NOT NULL
               FROM outbox.messages m
              WHERE m.destination = %(destination)s
                AND m.status IN ('pending', 'in_flight', 'retrying')
                AND m.ordering_key IS NOT NULL
              ORDER BY m.ordering_key, m.id
              LIMIT 1)
            LIMIT 1) s
     WHERE (SELECT count(*) FROM due) = 2 * %(limit)s
    UNION ALL
    SELECT n.ordering_key, n.id, n.wrapped
      FROM walk w
     CROSS JOIN LATERAL (
           (SELECT m.ordering_key, m.id, w.wrapped
              FROM outbox.messages m
             WHERE m.destination = %(destination)s
               AND m.status IN ('pending', 'in_flight', 'retrying')
               AND m.ordering_key IS NOT NULL
               AND m.ordering_key > w.ordering_key
             ORDER BY m.ordering_key, m.id
             LIMIT 1)
           UNION ALL
           (SELECT m.ordering_key, m.id, true
              FROM outbox.messages m
             WHERE m.destination = %(destination)s
               AND m.status IN ('pending', 'in_flight', 'retrying')
               AND m.ordering_key IS NOT NULL
               AND NOT w.wrapped AND %(walk_from)s::text IS NOT NULL
             ORDER BY m.ordering_key, m.id
             LIMIT 1)
           LIMIT 1) n
     WHERE NOT (w.wrapped AND w.ordering_key >= %(walk_from)s::text)
), walked AS (
    -- A head walked to is claimable when it is due and not in flight: one primary-key probe
    -- per key walked (LATERAL ... LIMIT 1 keeps it a probe: a join lets the planner, misled by
    -- the recursive walk's row estimate, scan every due row of the claimable index instead).
    SELECT h.id, h.ordering_key, h.next_attempt_at
      FROM walk w
     CROSS JOIN LATERAL (
           SELECT m.id, m.ordering_key, m.next_attempt_at
             FROM outbox.messages m
            WHERE m.id = w.head
              AND m.status IN ('pending', 'retrying')
              AND m.next_attempt_at <= coalesce(%(now)s::timestamptz, now())
            LIMIT 1) h
     WHERE NOT (w.wrapped AND w.ordering_key > %(walk_from)s::text)
       AND h.id NOT IN (SELECT f.id FROM found f)
), room AS (
    SELECT greatest(%(limit)s - count(*), 0) AS heads FROM found
), loose AS (
    -- Unkeyed messages due after the last row read, oldest first, read through the index of
    -- claimable unkeyed rows: exactly the rows taken, however long a key's backlog is ahead of
    -- them in the claimable index. Only when that scan was cut short (it has a last row).
    SELECT n.id, n.ordering_key, n.next_attempt_at
      FROM due u
     CROSS JOIN LATERAL (
           SELECT m.id, m.ordering_key, m.next_attempt_at
             FROM outbox.messages m
            WHERE m.destination = %(destination)s
              AND m.status IN ('pending', 'retrying')
              AND m.ordering_key IS NULL
              AND m.next_attempt_at <= coalesce(%(now)s::timestamptz, now())
              AND (m.next_attempt_at, m.id) > (u.next_attempt_at, u.id)
            ORDER BY m.next_attempt_at, m.id
            LIMIT (SELECT r.heads FROM room r)) n
     WHERE u.rank = 2 * %(limit)s
), beyond AS (
    -- Past the rows read, the heads walked to and the unkeyed messages share the room left,
    -- oldest due first; the walk stops once it has found as many heads as there is room.
    SELECT b.id, b.ordering_key,
           2 * %(limit)s + row_number() OVER (ORDER BY b.next_attempt_at, b.id) AS rank
      FROM ((SELECT w.id, w.ordering_key, w.next_attempt_at
               FROM walked w
              LIMIT (SELECT r.heads FROM room r))
            UNION ALL
            SELECT l.id, l.ordering_key, l.next_attempt_at FROM loose l) b
     ORDER BY b.next_attempt_at, b.id
     LIMIT (SELECT r.heads FROM room r)
), heads AS MATERIALIZED (
    SELECT x.id, x.ordering_key, x.rank
      FROM (SELECT f.id, f.ordering_key, f.rank FROM found f
            UNION ALL
            SELECT b.id, b.ordering_key, b.rank FROM beyond b) x
     LIMIT 2 * %(limit)s
), share AS (
    -- An unkeyed head has nothing behind it: it takes its one place, and the keys share the rest.
    -- Shares are counted over the first %(limit)s heads: the others are only spares.
    SELECT ceil((%(limit)s - count(*) FILTER (WHERE h.ordering_key IS NULL))::numeric
                / greatest(count(h.ordering_key), 1))::int AS per_key
      FROM (SELECT f.ordering_key FROM heads f ORDER BY f.rank LIMIT %(limit)s) h
), runs AS (
    SELECT h.id AS head, h.rank, 1::bigint AS pos, h.id FROM heads h
    UNION ALL
    SELECT h.id, h.rank, q.pos, q.id
      FROM heads h
     CROSS JOIN share s
     CROSS JOIN LATERAL (
           SELECT m.id,
                  1 + row_number() OVER queue AS pos,
                  bool_and(m.status IN ('pending', 'retrying')
                           AND m.next_attempt_at <= coalesce(%(now)s::timestamptz, now()))
                      OVER queue AS open
             FROM outbox.messages m
            WHERE m.destination = %(destination)s
              AND m.status IN ('pending', 'in_flight', 'retrying')
              AND m.ordering_key IS NOT NULL
              AND m.ordering_key <= h.ordering_key
              AND (m.ordering_key, m.id) > (h.ordering_key, h.id)
           WINDOW queue AS (ORDER BY m.ordering_key, m.id)
            ORDER BY m.ordering_key, m.id
            LIMIT s.per_key - 1) q
     WHERE s.per_key > 1 AND q.open
), picked AS (
    SELECT r.head, r.pos, r.id, row_number() OVER (ORDER BY r.pos, r.rank, r.id) AS turn
      FROM runs r ORDER BY r.pos, r.rank, r.id LIMIT 2 * %(limit)s
), locked AS (
    -- The first %(limit)s of the picked rows that no other worker holds, in the order picked.
    -- Two workers claiming at once read the same oldest rows; the second skips what the first
    -- locked and takes the spares behind them, instead of coming back empty.
    -- No join here or in `claimed`: the rows are found by one scan of the primary key for the
    -- array of ids, and put in claim order by their place in it. A join's method follows the
    -- planner's estimate of the picked rows, which a plan made once (see claim.py) cannot
    -- know: it compared every picked row with every row read, or scanned a small table whole.
    SELECT m.id
      FROM outbox.messages m
     WHERE m.id = ANY (ARRAY(SELECT p.id FROM picked p))
       AND m.status IN ('pending', 'retrying')
     ORDER BY array_position(ARRAY(SELECT p.id FROM picked p ORDER BY p.turn), m.id)
     LIMIT %(limit)s
       FOR UPDATE OF m SKIP LOCKED
), claimed AS (
    SELECT g.id
      FROM (SELECT p.id, p.pos, row_number() OVER (PARTITION BY p.head ORDER BY p.pos) AS n
              FROM picked p
             WHERE p.id = ANY (ARRAY(SELECT l.id FROM locked l))) g
     WHERE g.n = g.pos
)
UPDATE outbox.messages m
   SET status = 'in_flight',
       lease_owner = %(worker)s,
       lease_expires_at = coalesce(%(now)s::timestamptz, now()) + make_interval(secs => %(lease_seconds)s),
       attempts = m.attempts + 1,
       updated_at = coalesce(%(now)s::timestamptz, now())
  FROM claimed c
 WHERE m.id = c.id
RETURNING m.id, m.event_type, m.ordering_key, m.idempotency_key, m.correlation_id, m.payload,
          m.attempts, m.created_at,
          -- Fewer heads found than the limit: every key that could be claimed was found (the
          -- walk went round all keys) and every unkeyed message that was due was taken, so a
          -- claim before this batch is recorded finds nothing.
          (SELECT count(*) FROM heads) < %(limit)s AS every_key

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
-- lease was taken over changes nothing). A rate-limited try gives its attempt back. A row
-- with no outcome was never tried (an earlier message of its key failed in the same batch):
-- it goes back to the queue as it was, with its attempt given back and no attempt row.
-- Returns each applied id and whether its key has a message waiting behind it, so the worker
-- claims that message at once instead of waiting for a poll.
-- A result leaves out what it does not hold (a missing key reads as null) and the times it
-- shares with the batch (%(started_at)s, %(finished_at)s): a batch of 100 deliveries fits
-- the client's first 8 kB of output, one write to the socket.
WITH results AS (
    SELECT r.id, r.number, r.outcome, r.status, r.retry_in, r.http_status, r.error_code,
           r.error_message, r.record_id,
           coalesce(r.started_at, %(started_at)s) AS started_at,
           coalesce(r.finished_at, %(finished_at)s) AS finished_at
      FROM json_to_recordset(%(results)s::json)
           AS r(id bigint, number int, outcome outbox.attempt_outcome, status outbox.message_status,
                retry_in float8, http_status int, error_code text, error_message text,
                record_id text, started_at timestamptz, finished_at timestamptz)
), updated AS (
    UPDATE outbox.messages m
       SET status = coalesce(r.status,
                             CASE WHEN m.attempts > 1 THEN 'retrying' ELSE 'pending' END
                                 ::outbox.message_status),
           next_attempt_at = coalesce(now() + make_interval(secs => r.retry_in), m.next_attempt_at),
           lease_owner = NULL,
           lease_expires_at = NULL,
           attempts = m.attempts - (r.outcome IS NULL OR r.outcome IN ('rate_limited', 'released'))::int,
           last_error_code = CASE WHEN r.outcome IS NULL OR r.outcome = 'delivered'
                                  THEN m.last_error_code ELSE r.error_code END,
           last_error = CASE WHEN r.outcome IS NULL OR r.outcome = 'delivered'
                             THEN m.last_error ELSE r.error_message END,
           delivered_at = CASE WHEN r.outcome = 'delivered' THEN r.finished_at END,
           destination_record_id = coalesce(r.record_id, m.destination_record_id),
           updated_at = r.finished_at
      FROM results r
     WHERE m.id = r.id AND m.status = 'in_flight' AND m.lease_owner = %(worker)s
       -- One probe of the primary key per result: the planner cannot see into the JSON, and
       -- would otherwise read every row in flight and compare it with every result.
       AND m.id = ANY (ARRAY(SELECT x.id FROM results x))
    RETURNING m.id, m.destination, m.ordering_key, r.status IN ('delivered', 'dead') AS cleared
), attempted AS (
    INSERT INTO outbox.attempts
           (message_id, number, worker, started_at, finished_at, outcome, http_status, error_code,
            error_message, duration_ms, mapping_version)
    SELECT r.id, r.number, %(worker)s, r.started_at, r.finished_at, r.outcome, r.http_status,
           r.error_code, r.error_message,
           greatest(extract(epoch FROM r.finished_at - r.started_at) * 1000, 0),
           %(mapping_version)s
      FROM results r JOIN updated u USING (id)
     WHERE r.outcome IS NOT NULL
)
-- One probe per key, from the last message of the key that left the queue here.
SELECT u.id,
       u.cleared
       AND u.id = max(u.id) FILTER (WHERE u.cleared) OVER (PARTITION BY u.ordering_key)
       AND u.ordering_key IS NOT NULL
       AND EXISTS (SELECT 1
                     FROM outbox.messages w
                    WHERE w.destination = u.destination
                      AND w.status IN ('pending', 'in_flight', 'retrying')
                      AND (w.status <> 'in_flight'
                           OR w.id IN (SELECT x.id FROM results x WHERE x.outcome IS NULL))
                      AND w.ordering_key IS NOT NULL
                      AND w.ordering_key <= u.ordering_key
                      AND (w.ordering_key, w.id) > (u.ordering_key, u.id)) AS waiting
  FROM updated u

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
