-- outbox.dead_letters: what failed for good, with the destination's own words.
CREATE OR REPLACE VIEW outbox.dead_letters AS
SELECT m.id,
       m.destination,
       m.event_type,
       m.ordering_key,
       m.correlation_id,
       m.last_error_code AS error_code,
       m.last_error      AS error_message,
       m.attempts,
       a.finished_at     AS last_attempt_at,
       a.http_status     AS last_http_status,
       m.created_at,
       m.payload
  FROM outbox.messages m
  LEFT JOIN LATERAL (
        SELECT finished_at, http_status FROM outbox.attempts
         WHERE message_id = m.id ORDER BY id DESC LIMIT 1) a ON true
 WHERE m.status = 'dead';
COMMENT ON VIEW outbox.dead_letters IS 'Dead messages with the destination''s error code and message, attempts and the last attempt. Retry with outbox.retry(id) or outbox.retry_dead(destination, error_code).';

-- outbox.dead_letter_causes: dead letters grouped by cause, for a daily look.
CREATE OR REPLACE VIEW outbox.dead_letter_causes AS
SELECT destination, last_error_code AS error_code, count(*) AS messages,
       min(updated_at) AS first_seen, max(updated_at) AS last_seen
  FROM outbox.messages
 WHERE status = 'dead'
 GROUP BY destination, last_error_code;
COMMENT ON VIEW outbox.dead_letter_causes IS 'Dead letters counted by destination and error code.';
