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

-- name: upsert_products :one
-- Apply pulled Product2 rows by SKU. Stock and price replicate from Salesforce; the safety stock
-- stays the storefront's. Only rows that really change are written (and counted).
WITH pulled AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(
        sku text, name text, purchase_type commerce.purchase_type, price numeric, stock integer,
        active boolean, course_id bigint, product2_id text, pricebook_entry_id text)
), changed AS (
    INSERT INTO commerce.products AS p
           (sku, name, purchase_type, price, stock, active, thinkific_course_id,
            salesforce_product2_id, salesforce_pricebook_entry_id, safety_stock)
    SELECT sku, name, purchase_type, coalesce(price, 0), stock, active, course_id, product2_id,
           pricebook_entry_id, %(safety_stock)s
      FROM pulled
        ON CONFLICT (sku) DO UPDATE
       SET name = EXCLUDED.name,
           purchase_type = EXCLUDED.purchase_type,
           stock = EXCLUDED.stock,
           active = EXCLUDED.active,
           thinkific_course_id = EXCLUDED.thinkific_course_id,
           salesforce_product2_id = EXCLUDED.salesforce_product2_id,
           salesforce_pricebook_entry_id = coalesce(EXCLUDED.salesforce_pricebook_entry_id,
                                                    p.salesforce_pricebook_entry_id),
           updated_at = now()
     WHERE (p.name, p.purchase_type, p.stock, p.active, p.thinkific_course_id,
            p.salesforce_product2_id)
           IS DISTINCT FROM
           (EXCLUDED.name, EXCLUDED.purchase_type, EXCLUDED.stock, EXCLUDED.active,
            EXCLUDED.thinkific_course_id, EXCLUDED.salesforce_product2_id)
    RETURNING 1
)
SELECT count(*) FROM changed

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
