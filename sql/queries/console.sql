-- Reads of the operator console. Each one is bounded and served by an index, so a page stays
-- fast with 100,000 dead letters and millions of delivered messages and attempts.

-- name: console_dead_causes :many
-- Dead letters per destination and error code, newest cause first (messages_dead_idx).
SELECT destination, error_code, messages, first_seen, last_seen
  FROM outbox.dead_letter_causes
 ORDER BY last_seen DESC, destination, error_code
 LIMIT %(limit)s

-- name: console_dead_page :many
-- One page of dead letters, newest first; %(before)s is the last id of the previous page.
SELECT id, destination, event_type, error_code, error_message, attempts, last_attempt_at
  FROM outbox.dead_letters
 WHERE (%(destination)s::text IS NULL OR destination = %(destination)s)
   AND (%(error_code)s::text IS NULL OR error_code = %(error_code)s)
   AND (%(before)s::bigint IS NULL OR id < %(before)s)
 ORDER BY id DESC
 LIMIT %(limit)s

-- name: console_message :one
SELECT id, created_at, destination, event_type, ordering_key, idempotency_key, correlation_id,
       payload, status::text, attempts, next_attempt_at, last_error_code, last_error,
       delivered_at, destination_record_id, updated_at
  FROM outbox.messages
 WHERE id = %(message_id)s

-- name: console_related :many
-- The other messages a message lives with: the live ones of its ordering key (in the order
-- they go out, messages_live_key_idx) and those of its business action (its correlation id,
-- messages_correlation_idx), such as the rest of one order.
SELECT m.id, m.destination, m.event_type, m.status::text, m.ordering_key, m.attempts,
       m.last_error_code, m.created_at
  FROM outbox.messages m
 WHERE m.id <> %(message_id)s
   AND ((m.destination = %(destination)s AND m.ordering_key = %(ordering_key)s
         AND m.status IN ('pending', 'in_flight', 'retrying'))
        OR m.correlation_id = %(correlation_id)s::uuid)
 ORDER BY m.id
 LIMIT %(limit)s

-- name: console_find :many
-- Messages matching an operator's search: a message id, a correlation id, an order number or
-- a customer's e-mail (through the storefront's orders and their correlation ids: indexed),
-- or a live ordering key. Newest first.
WITH actions AS (
    SELECT o.correlation_id FROM commerce.orders o WHERE o.order_number = %(order_number)s
    UNION
    SELECT o.correlation_id
      FROM commerce.customers c JOIN commerce.orders o ON o.customer_id = c.id
     WHERE lower(c.email) = lower(%(text)s)
    UNION
    SELECT %(uuid)s::uuid WHERE %(uuid)s::uuid IS NOT NULL
), found AS (
    SELECT m.id FROM outbox.messages m
     WHERE m.correlation_id IN (SELECT a.correlation_id FROM actions a)
    UNION
    SELECT m.id FROM outbox.messages m WHERE m.id = %(message_id)s::bigint
    UNION
    SELECT m.id FROM outbox.messages m
     WHERE m.ordering_key = %(text)s AND m.status IN ('pending', 'in_flight', 'retrying')
)
SELECT m.id, m.destination, m.event_type, m.status::text, m.ordering_key, m.attempts,
       m.last_error_code, m.created_at
  FROM outbox.messages m
 WHERE m.id IN (SELECT f.id FROM found f)
 ORDER BY m.id DESC
 LIMIT %(limit)s

-- name: console_actions :many
-- The newest operator actions, for the dead letters page.
SELECT at, actor, action, message_id, destination, detail, reason, affected
  FROM outbox.operator_actions
 ORDER BY at DESC
 LIMIT %(limit)s
