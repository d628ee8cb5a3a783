-- outbox.blocked_keys: ordering keys whose head message is not moving.
CREATE OR REPLACE VIEW outbox.blocked_keys AS
SELECT h.destination,
       h.ordering_key,
       h.id            AS head_message_id,
       h.status        AS head_status,
       h.attempts      AS head_attempts,
       h.last_error_code,
       h.next_attempt_at,
       now() - h.created_at AS blocked_for,
       (SELECT count(*) FROM outbox.messages w
         WHERE w.destination = h.destination AND w.ordering_key = h.ordering_key
           AND w.status IN ('pending', 'retrying') AND w.id > h.id) AS waiting_behind
  FROM outbox.messages h
 WHERE h.ordering_key IS NOT NULL
   -- Failed at least once: retrying after a counted attempt (a rate-limited wait gives its
   -- attempt back), or in flight again on a later attempt.
   AND ((h.status = 'retrying' AND h.attempts >= 1) OR (h.status = 'in_flight' AND h.attempts > 1))
   AND NOT EXISTS (SELECT 1 FROM outbox.messages e
                    WHERE e.destination = h.destination AND e.ordering_key = h.ordering_key
                      AND e.status IN ('pending', 'in_flight', 'retrying') AND e.id < h.id);
COMMENT ON VIEW outbox.blocked_keys IS 'Ordering keys whose head message has failed at least once and holds the messages behind it. Release with outbox.cancel(head_message_id, reason) once the cause is understood.';
