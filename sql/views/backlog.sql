-- outbox.backlog: what is waiting, per destination and status, and how late it is.
-- Reads only live and dead rows (partial indexes); delivered history is never counted here.
CREATE OR REPLACE VIEW outbox.backlog AS
SELECT m.destination,
       m.status,
       count(*)                                   AS messages,
       now() - min(m.created_at)                  AS oldest_age,
       min(m.next_attempt_at) FILTER (WHERE m.status = 'retrying') AS next_retry_at,
       max(m.attempts)                            AS max_attempts,
       d.paused_until
  FROM outbox.messages m
  JOIN outbox.destinations d ON d.name = m.destination
 WHERE m.status IN ('pending', 'in_flight', 'retrying', 'dead')
 GROUP BY m.destination, m.status, d.paused_until;
COMMENT ON VIEW outbox.backlog IS 'Per destination and status (pending, in_flight, retrying, dead): messages, age of the oldest, next retry, and any pause.';

-- outbox.lag: one row per destination, the age of its oldest undelivered message.
CREATE OR REPLACE VIEW outbox.lag AS
SELECT d.name AS destination,
       coalesce(now() - min(m.created_at), interval '0') AS oldest_undelivered_age,
       count(m.id) AS undelivered,
       d.paused_until
  FROM outbox.destinations d
  LEFT JOIN outbox.messages m
         ON m.destination = d.name AND m.status IN ('pending', 'in_flight', 'retrying')
 GROUP BY d.name, d.paused_until;
COMMENT ON VIEW outbox.lag IS 'Per destination: age of the oldest message not yet delivered (the number to alert on), how many, and any pause.';
