-- name: watermark :one
SELECT watermark FROM outbox.sync_watermarks WHERE source = %(source)s

-- name: set_watermark :exec
-- Advanced in the same transaction as the rows it covers.
INSERT INTO outbox.sync_watermarks (source, watermark) VALUES (%(source)s, %(watermark)s)
    ON CONFLICT (source) DO UPDATE
   SET watermark = greatest(outbox.sync_watermarks.watermark, EXCLUDED.watermark), updated_at = now()

-- name: start_sync_run :one
INSERT INTO outbox.sync_runs (source) VALUES (%(source)s) RETURNING id

-- name: finish_sync_run :exec
UPDATE outbox.sync_runs
   SET finished_at = now(), rows_read = %(rows_read)s, rows_changed = %(rows_changed)s,
       errors = %(errors)s, detail = %(detail)s
 WHERE id = %(run_id)s

-- name: lock_pulled_products :exec
-- Take the row locks of the pulled products that exist, in id order like checkouts, before the
-- upsert: a checkout that took stock commits first, and the upsert (a new statement, so a new
-- snapshot) then sees its sale in the stock ledger.
SELECT p.id FROM commerce.products p
 WHERE p.sku IN (SELECT r.sku FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(sku text))
 ORDER BY p.id
   FOR UPDATE

-- name: upsert_products :one
-- Apply pulled Product2 rows by SKU. Salesforce's count is kept as salesforce_stock; the stock
-- on hand here is that count less the units of stock movements after the mark the count was
-- read with (sales Salesforce's count does not reflect yet), never less than zero. Only rows
-- that really change are written (and counted).
WITH pulled AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(
        sku text, name text, purchase_type commerce.purchase_type, price numeric, stock integer,
        reflected_through bigint, safety integer, active boolean, course_id bigint,
        product2_id text, pricebook_entry_id text)
), changed AS (
    INSERT INTO commerce.products AS p
           (sku, name, purchase_type, price, stock, salesforce_stock, stock_reflected_through,
            salesforce_safety_stock, active, thinkific_course_id, salesforce_product2_id,
            salesforce_pricebook_entry_id, safety_stock)
    SELECT sku, name, purchase_type, coalesce(price, 0), stock, stock,
           coalesce(reflected_through, 0), safety, active, course_id, product2_id,
           pricebook_entry_id, greatest(coalesce(safety, %(safety_stock)s), 0)
      FROM pulled
        ON CONFLICT (sku) DO UPDATE
       SET name = EXCLUDED.name,
           purchase_type = EXCLUDED.purchase_type,
           salesforce_stock = EXCLUDED.salesforce_stock,
           stock_reflected_through = EXCLUDED.stock_reflected_through,
           stock = CASE WHEN EXCLUDED.salesforce_stock IS NOT NULL THEN greatest(
                       EXCLUDED.salesforce_stock - coalesce(
                           (SELECT sum(m.units) FROM commerce.stock_movements m
                             WHERE m.product_id = p.id AND m.id > EXCLUDED.stock_reflected_through),
                           0),
                       0) END,
           salesforce_safety_stock = EXCLUDED.salesforce_safety_stock,
           active = EXCLUDED.active,
           thinkific_course_id = EXCLUDED.thinkific_course_id,
           salesforce_product2_id = EXCLUDED.salesforce_product2_id,
           salesforce_pricebook_entry_id = coalesce(EXCLUDED.salesforce_pricebook_entry_id,
                                                    p.salesforce_pricebook_entry_id),
           updated_at = now()
     WHERE (p.name, p.purchase_type, p.salesforce_stock, p.stock_reflected_through,
            p.salesforce_safety_stock, p.active, p.thinkific_course_id, p.salesforce_product2_id)
           IS DISTINCT FROM
           (EXCLUDED.name, EXCLUDED.purchase_type, EXCLUDED.salesforce_stock,
            EXCLUDED.stock_reflected_through, EXCLUDED.salesforce_safety_stock, EXCLUDED.active,
            EXCLUDED.thinkific_course_id, EXCLUDED.salesforce_product2_id)
    RETURNING 1
)
SELECT count(*) FROM changed

-- name: apply_safety_stock :one
-- The safety stock of every product, pulled this run or not: its own value from Salesforce when
-- the pull reads one (use_salesforce), else the configured one.
WITH changed AS (
    UPDATE commerce.products p
       SET safety_stock = greatest(coalesce(CASE WHEN %(use_salesforce)s
                                                 THEN p.salesforce_safety_stock END,
                                            %(safety_stock)s), 0),
           updated_at = now()
     WHERE p.safety_stock IS DISTINCT FROM
           greatest(coalesce(CASE WHEN %(use_salesforce)s THEN p.salesforce_safety_stock END,
                             %(safety_stock)s), 0)
    RETURNING 1
)
SELECT count(*) FROM changed

-- name: stock_to_push :many
-- Products with stock movements that Salesforce's count did not reflect when last pulled.
SELECT p.id, p.salesforce_product2_id
  FROM commerce.products p
 WHERE p.salesforce_product2_id IS NOT NULL
   AND EXISTS (SELECT FROM commerce.stock_movements m
                WHERE m.product_id = p.id AND m.id > p.stock_reflected_through)
 ORDER BY p.id
 LIMIT %(limit)s

-- name: stock_push_plan :many
-- For each product and the mark read from its Product2 row just now: the units of the
-- movements after that mark and the last of them, which the push writes into the count.
SELECT p.salesforce_product2_id, sum(m.units)::integer, max(m.id)
  FROM unnest(%(product2_ids)s::text[], %(marks)s::bigint[]) AS r(product2_id, mark)
  JOIN commerce.products p ON p.salesforce_product2_id = r.product2_id
  JOIN commerce.stock_movements m ON m.product_id = p.id AND m.id > r.mark
 GROUP BY p.salesforce_product2_id

-- name: update_prices :one
-- Apply pulled PricebookEntry rows to the products they price.
WITH pulled AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb)
           AS r(product2_id text, pricebook_entry_id text, price numeric, active boolean)
), changed AS (
    UPDATE commerce.products p
       SET price = pulled.price, salesforce_pricebook_entry_id = pulled.pricebook_entry_id,
           updated_at = now()
      FROM pulled
     WHERE p.salesforce_product2_id = pulled.product2_id
       AND (p.price, p.salesforce_pricebook_entry_id)
           IS DISTINCT FROM (pulled.price, pulled.pricebook_entry_id)
    RETURNING 1
)
SELECT count(*) FROM changed
