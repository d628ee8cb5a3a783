-- name: savepoint :exec
-- Everything place_order writes happens under this savepoint, so a refused cart writes nothing.
SAVEPOINT outbox_place_order

-- name: release_savepoint :exec
RELEASE SAVEPOINT outbox_place_order

-- name: rollback_savepoint :exec
ROLLBACK TO SAVEPOINT outbox_place_order

-- name: find_order :one
-- A retried checkout finds its order and publishes nothing new.
SELECT o.id, o.customer_id, o.total,
       coalesce((SELECT array_agg(m.id ORDER BY m.id)
                   FROM outbox.messages m
                  WHERE m.correlation_id = o.correlation_id), '{}') AS message_ids
  FROM commerce.orders o
 WHERE o.order_number = %(order_number)s

-- name: upsert_customer :one
-- Match customers by e-mail, case-insensitively; a guest who later registers stays one row.
-- A checkout that changes the profile counts as a profile change (profile_version), so the
-- order's snapshot of the customer is ordered against customer.updated messages.
INSERT INTO commerce.customers AS c
       (email, first_name, last_name, organisation, locale, marketing_consent, is_guest)
VALUES (%(email)s, %(first_name)s, %(last_name)s, %(organisation)s, %(locale)s,
        %(marketing_consent)s, %(is_guest)s)
    ON CONFLICT (lower(email)) DO UPDATE
   SET first_name = EXCLUDED.first_name,
       last_name = EXCLUDED.last_name,
       organisation = coalesce(EXCLUDED.organisation, c.organisation),
       locale = EXCLUDED.locale,
       marketing_consent = EXCLUDED.marketing_consent,
       is_guest = c.is_guest AND EXCLUDED.is_guest,
       profile_version = c.profile_version
           + CASE WHEN (c.first_name, c.last_name, c.locale, c.marketing_consent,
                        c.organisation)
                       IS DISTINCT FROM
                       (EXCLUDED.first_name, EXCLUDED.last_name, EXCLUDED.locale,
                        EXCLUDED.marketing_consent, coalesce(EXCLUDED.organisation, c.organisation))
                  THEN 1 ELSE 0 END,
       updated_at = now()
RETURNING id, email, first_name, last_name, organisation, locale, marketing_consent, is_guest,
          profile_version AS version, email_opt_out, phone

-- name: products_by_sku :many
SELECT id, sku, name, purchase_type::text, price, currency, stock, safety_stock,
       thinkific_course_id, license_term_days, salesforce_product2_id,
       salesforce_pricebook_entry_id
  FROM commerce.products
 WHERE sku = ANY(%(skus)s::text[]) AND active

-- name: take_stock :many
-- Decrement stock for every physical product of the cart at once, locking rows in id order so
-- concurrent checkouts cannot deadlock; a product without enough stock (above its safety stock)
-- is left out of the result. Each unit taken is written to the stock ledger under the same row
-- lock, so a catalog pull (which takes the lock too) sees the sale and the decrement together.
WITH wanted AS (
    SELECT * FROM unnest(%(product_ids)s::bigint[], %(quantities)s::int[]) AS w(id, quantity)
), locked AS (
    SELECT p.id FROM commerce.products p JOIN wanted USING (id) ORDER BY p.id FOR UPDATE OF p
), taken AS (
    UPDATE commerce.products p
       SET stock = p.stock - w.quantity, updated_at = now()
      FROM wanted w JOIN locked l USING (id)
     WHERE p.id = w.id AND p.stock - p.safety_stock >= w.quantity
    RETURNING p.id, w.quantity
), logged AS (
    INSERT INTO commerce.stock_movements (product_id, units, reason, order_number)
    SELECT t.id, t.quantity, 'sale', %(order_number)s FROM taken t
)
SELECT id FROM taken

-- name: stock_left :many
SELECT id, greatest(stock - safety_stock, 0) AS available
  FROM commerce.products WHERE id = ANY(%(product_ids)s::bigint[])

-- name: take_seats :many
-- Allocate event seats; the row lock serialises checkouts racing for one session and the
-- condition (re-checked on the newest row version) means a session is never oversold.
WITH wanted AS (
    SELECT * FROM unnest(%(session_ids)s::bigint[], %(product_ids)s::bigint[], %(seats)s::int[])
           AS w(id, product_id, seats)
), locked AS (
    SELECT s.id FROM commerce.event_sessions s JOIN wanted USING (id) ORDER BY s.id FOR UPDATE OF s
)
UPDATE commerce.event_sessions s
   SET seats_taken = s.seats_taken + w.seats
  FROM wanted w JOIN locked l USING (id)
 WHERE s.id = w.id AND s.product_id = w.product_id AND s.seats_taken + w.seats <= s.capacity
RETURNING s.id, s.name, s.starts_at

-- name: sessions_state :many
SELECT id, product_id, capacity - seats_taken AS left
  FROM commerce.event_sessions WHERE id = ANY(%(session_ids)s::bigint[])

-- name: insert_order :one
INSERT INTO commerce.orders
       (order_number, customer_id, currency, subtotal, tax, total, payment_method, placed_at,
        correlation_id)
VALUES (%(order_number)s, %(customer_id)s, %(currency)s, %(subtotal)s, %(tax)s, %(total)s,
        %(payment_method)s, %(placed_at)s, %(correlation_id)s)
RETURNING id, placed_at

-- name: insert_lines :exec
-- The order is found by number so this statement can share a round trip with insert_order.
INSERT INTO commerce.order_lines
       (order_id, line_number, product_id, quantity, unit_price, tax, event_session_id)
SELECT (SELECT id FROM commerce.orders WHERE order_number = %(order_number)s), *
  FROM unnest(%(line_numbers)s::int[], %(product_ids)s::bigint[], %(quantities)s::int[],
              %(unit_prices)s::numeric[], %(taxes)s::numeric[], %(session_ids)s::bigint[])
