-- name: aftersale_savepoint :exec
-- Everything an after-sale call writes happens under this savepoint, so a refused call writes nothing.
SAVEPOINT outbox_aftersale

-- name: aftersale_release :exec
RELEASE SAVEPOINT outbox_aftersale

-- name: aftersale_rollback :exec
ROLLBACK TO SAVEPOINT outbox_aftersale

-- name: lock_order :one
-- The order and its customer, row-locked: after-sale calls on one order run one at a time, so
-- two refunds racing can never together refund more than was paid.
SELECT o.id, o.order_number, o.status::text AS status, o.currency, o.subtotal, o.tax, o.total,
       o.payment_method, o.placed_at, o.amount_paid, o.amount_refunded, o.cancelled_at,
       o.cancel_reason,
       c.id AS customer_id, c.email, c.first_name, c.last_name, c.organisation, c.locale,
       c.marketing_consent, c.is_guest, c.profile_version, c.email_opt_out, c.phone
  FROM commerce.orders o
  JOIN commerce.customers c ON c.id = o.customer_id
 WHERE o.order_number = %(order_number)s
   FOR UPDATE OF o

-- name: order_line_state :many
-- Each line of an order with what has been shipped and refunded of it so far.
SELECT l.id, l.line_number, p.sku, p.name, p.purchase_type::text AS purchase_type, l.quantity,
       l.unit_price, l.tax, l.event_session_id, p.thinkific_course_id, l.product_id,
       coalesce((SELECT sum(s.quantity) FROM commerce.shipment_lines s
                  WHERE s.order_line_id = l.id), 0)::int AS shipped,
       coalesce((SELECT sum(r.quantity) FROM commerce.refund_lines r
                  WHERE r.order_line_id = l.id), 0)::int AS refunded
  FROM commerce.order_lines l
  JOIN commerce.orders o ON o.id = l.order_id
  JOIN commerce.products p ON p.id = l.product_id
 WHERE o.order_number = %(order_number)s
 ORDER BY l.line_number

-- name: find_payment :one
-- A payment already recorded under this provider reference, and the messages it published.
SELECT o.order_number, p.method, p.amount,
       coalesce((SELECT array_agg(m.id ORDER BY m.id) FROM outbox.messages m
                  WHERE m.correlation_id = p.correlation_id), '{}') AS message_ids
  FROM commerce.payments p
  JOIN commerce.orders o ON o.id = p.order_id
 WHERE p.provider_reference = %(reference)s

-- name: find_shipment :one
-- A parcel already recorded under this reference, its lines, and the messages it published.
SELECT o.order_number, s.carrier, s.tracking_number,
       (SELECT jsonb_object_agg(l.line_number::text, sl.quantity)
          FROM commerce.shipment_lines sl JOIN commerce.order_lines l ON l.id = sl.order_line_id
         WHERE sl.shipment_id = s.id) AS lines,
       coalesce((SELECT array_agg(m.id ORDER BY m.id) FROM outbox.messages m
                  WHERE m.correlation_id = s.correlation_id), '{}') AS message_ids
  FROM commerce.shipments s
  JOIN commerce.orders o ON o.id = s.order_id
 WHERE s.shipment_ref = %(reference)s

-- name: find_refund :one
-- A refund already recorded under this reference, its lines, and the messages it published.
SELECT o.order_number, r.amount,
       (SELECT jsonb_object_agg(l.line_number::text, rl.quantity)
          FROM commerce.refund_lines rl JOIN commerce.order_lines l ON l.id = rl.order_line_id
         WHERE rl.refund_id = r.id) AS lines,
       coalesce((SELECT array_agg(m.id ORDER BY m.id) FROM outbox.messages m
                  WHERE m.correlation_id = r.correlation_id), '{}') AS message_ids
  FROM commerce.refunds r
  JOIN commerce.orders o ON o.id = r.order_id
 WHERE r.refund_ref = %(reference)s

-- name: cancellation_messages :many
-- The messages a cancellation published, for a retried cancel_order.
SELECT m.id
  FROM commerce.orders o
  JOIN outbox.messages m ON m.correlation_id = o.cancel_correlation_id
 WHERE o.order_number = %(order_number)s
 ORDER BY m.id

-- name: insert_payment :exec
INSERT INTO commerce.payments (order_id, provider_reference, method, amount, paid_at, correlation_id)
SELECT id, %(reference)s, %(method)s, %(amount)s, %(at)s, %(correlation_id)s
  FROM commerce.orders WHERE order_number = %(order_number)s

-- name: insert_shipment :exec
-- The parcel and its lines in one statement; lines are found by their number on the order.
WITH parcel AS (
    INSERT INTO commerce.shipments
           (order_id, shipment_ref, carrier, tracking_number, shipped_at, correlation_id)
    SELECT id, %(reference)s, %(carrier)s, %(tracking_number)s, %(at)s, %(correlation_id)s
      FROM commerce.orders WHERE order_number = %(order_number)s
    RETURNING id, order_id
)
INSERT INTO commerce.shipment_lines (shipment_id, order_line_id, quantity)
SELECT parcel.id, l.id, w.quantity
  FROM parcel
  JOIN unnest(%(line_numbers)s::int[], %(quantities)s::int[]) AS w(line_number, quantity) ON true
  JOIN commerce.order_lines l ON l.order_id = parcel.order_id AND l.line_number = w.line_number

-- name: insert_refund :exec
-- The refund and the lines it names (none for a refund of an amount only).
WITH refund AS (
    INSERT INTO commerce.refunds (order_id, refund_ref, amount, refunded_at, correlation_id)
    SELECT id, %(reference)s, %(amount)s, %(at)s, %(correlation_id)s
      FROM commerce.orders WHERE order_number = %(order_number)s
    RETURNING id, order_id
)
INSERT INTO commerce.refund_lines (refund_id, order_line_id, quantity)
SELECT refund.id, l.id, w.quantity
  FROM refund
  JOIN unnest(%(line_numbers)s::int[], %(quantities)s::int[]) AS w(line_number, quantity) ON true
  JOIN commerce.order_lines l ON l.order_id = refund.order_id AND l.line_number = w.line_number

-- name: update_order_progress :exec
-- The order's status and money after a payment, shipment, refund or cancellation.
UPDATE commerce.orders
   SET status = %(status)s::commerce.order_status,
       amount_paid = %(amount_paid)s,
       amount_refunded = %(amount_refunded)s,
       cancelled_at = %(cancelled_at)s,
       cancel_reason = %(cancel_reason)s,
       cancel_correlation_id = %(cancel_correlation_id)s
 WHERE order_number = %(order_number)s

-- name: release_stock :exec
-- Give a cancelled order's physical units back to stock, and write them to the stock ledger
-- (negative units) so the next catalog pull puts them back into Salesforce's count too.
WITH released AS (
    UPDATE commerce.products p
       SET stock = p.stock + w.quantity, updated_at = now()
      FROM (SELECT product_id, sum(quantity) AS quantity
              FROM unnest(%(product_ids)s::bigint[], %(quantities)s::int[]) AS u(product_id, quantity)
             GROUP BY product_id) w
     WHERE p.id = w.product_id AND p.stock IS NOT NULL
    RETURNING p.id, w.quantity
)
INSERT INTO commerce.stock_movements (product_id, units, reason, order_number)
SELECT r.id, -r.quantity, 'cancellation',
       (SELECT o.order_number FROM commerce.orders o WHERE o.id = %(order_id)s)
  FROM released r

-- name: release_seats :exec
-- Free the event seats of a cancelled order or a refund, so the session can sell them again.
UPDATE commerce.event_sessions s
   SET seats_taken = greatest(s.seats_taken - w.seats, 0)
  FROM (SELECT session_id, sum(seats) AS seats
          FROM unnest(%(session_ids)s::bigint[], %(seats)s::int[]) AS u(session_id, seats)
         GROUP BY session_id) w
 WHERE s.id = w.session_id

-- name: lock_customer :one
-- The customer's profile, row-locked, so concurrent changes of one profile are applied (and
-- published) one after the other.
SELECT id, email, first_name, last_name, organisation, locale, marketing_consent, is_guest,
       address_line1, address_line2, city, postal_code, region, country, preferences,
       profile_version
  FROM commerce.customers
 WHERE lower(email) = lower(%(email)s)
   FOR UPDATE

-- name: update_profile :one
-- Write the new profile and count the change.
UPDATE commerce.customers
   SET first_name = %(first_name)s, last_name = %(last_name)s, locale = %(locale)s,
       marketing_consent = %(marketing_consent)s,
       address_line1 = %(address_line1)s, address_line2 = %(address_line2)s, city = %(city)s,
       postal_code = %(postal_code)s, region = %(region)s, country = %(country)s,
       preferences = %(preferences)s, profile_version = profile_version + 1,
       updated_at = coalesce(%(at)s::timestamptz, now())
 WHERE id = %(id)s
RETURNING profile_version, updated_at
