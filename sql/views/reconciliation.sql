-- outbox.reconciliation: orders of the last 30 days whose effects have not arrived where they
-- must, older than a few minutes. Empty when the storefront, Salesforce and Thinkific agree.
CREATE OR REPLACE VIEW outbox.reconciliation AS
WITH recent AS (
    SELECT o.id, o.order_number, o.placed_at, o.correlation_id
      FROM commerce.orders o
     WHERE o.placed_at > now() - interval '30 days'
       AND o.placed_at < now() - interval '5 minutes'
)
-- An order is missing from Salesforce only when no order.placed of it was ever delivered: a
-- later replay or retry that died does not take back the delivery before it. The row shows the
-- newest such message.
SELECT 'order_not_in_salesforce'::text AS problem, r.order_number, r.placed_at,
       m.id AS message_id, m.status::text AS message_status, m.last_error_code,
       now() - r.placed_at AS age
  FROM recent r
  LEFT JOIN LATERAL (
        SELECT l.id, l.status, l.last_error_code
          FROM outbox.messages l
         WHERE l.correlation_id = r.correlation_id AND l.destination = 'salesforce'
           AND l.event_type = 'order.placed'
         ORDER BY l.id DESC
         LIMIT 1) m ON true
 WHERE NOT EXISTS (
        SELECT 1
          FROM outbox.messages d
         WHERE d.correlation_id = r.correlation_id AND d.destination = 'salesforce'
           AND d.event_type = 'order.placed' AND d.status = 'delivered')
UNION ALL
SELECT 'course_not_enrolled', r.order_number, r.placed_at, m.id, m.status::text,
       m.last_error_code, now() - r.placed_at
  FROM recent r
  JOIN commerce.order_lines l ON l.order_id = r.id
  JOIN commerce.products p ON p.id = l.product_id AND p.purchase_type = 'digital_license'
  LEFT JOIN outbox.messages m
         ON m.destination = 'thinkific'
        AND m.idempotency_key = 'enrollment.requested:' || r.order_number || ':' || l.line_number
 WHERE m.id IS NULL OR m.status <> 'delivered';
COMMENT ON VIEW outbox.reconciliation IS 'Orders of the last 30 days (older than 5 minutes) not delivered to Salesforce, and course purchases not enrolled in Thinkific, with the message and its last error. Empty when all systems agree.';
