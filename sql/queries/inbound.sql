-- name: inbound_watermark :one
SELECT watermark FROM outbox.inbound_watermarks WHERE object_name = %(object_name)s

-- name: inbound_set_watermark :exec
-- Moved in the same transaction as the changes it covers; never backwards.
INSERT INTO outbox.inbound_watermarks (object_name, watermark, changes_read)
VALUES (%(object_name)s, %(watermark)s, %(read)s)
    ON CONFLICT (object_name) DO UPDATE
   SET watermark = greatest(outbox.inbound_watermarks.watermark, EXCLUDED.watermark),
       changes_read = outbox.inbound_watermarks.changes_read + EXCLUDED.changes_read,
       updated_at = now()

-- name: inbound_previous :many
-- The fields each record had when last read, to tell what Salesforce changed since.
SELECT DISTINCT ON (c.record_id) c.record_id, c.fields
  FROM outbox.inbound_changes c
 WHERE c.object_name = %(object_name)s AND c.record_id = ANY(%(record_ids)s::text[])
 ORDER BY c.record_id, c.system_modstamp DESC

-- name: inbound_record :many
-- Record a page of changes in the inbox. A change already recorded (the same record and
-- SystemModstamp, read again) is left alone and not returned, so it is never applied twice;
-- a concurrent run waits here on the unique index and then finds the row.
INSERT INTO outbox.inbound_changes
       (object_name, record_id, system_modstamp, storefront_key, is_deleted, master_record_id,
        last_modified_by, fields)
SELECT %(object_name)s, r.record_id, r.system_modstamp, r.storefront_key,
       coalesce(r.is_deleted, false), r.master_record_id, r.last_modified_by,
       coalesce(r.fields, '{}')
  FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(
       record_id text, system_modstamp timestamptz, storefront_key text, is_deleted boolean,
       master_record_id text, last_modified_by text, fields jsonb)
    ON CONFLICT (object_name, record_id, system_modstamp) DO NOTHING
RETURNING id, record_id

-- name: inbound_decide :exec
-- What became of each recorded change.
UPDATE outbox.inbound_changes c
   SET status = r.status, applied = coalesce(r.applied, '{}'), conflicts = coalesce(r.conflicts, '[]'),
       detail = r.detail, decided_at = coalesce(%(now)s::timestamptz, now())
  FROM jsonb_to_recordset(%(rows)s::jsonb)
       AS r(id bigint, status text, applied text[], conflicts jsonb, detail text)
 WHERE c.id = r.id

-- name: inbound_linked_keys :many
-- Storefront keys the outbox writes to these records: their own, a guest's attached by e-mail,
-- a merged record's now written to its survivor.
SELECT k.salesforce_id, k.storefront_key
  FROM outbox.salesforce_ids k
 WHERE k.destination = %(destination)s AND k.object_name = %(object_name)s
   AND k.salesforce_id = ANY(%(record_ids)s::text[])

-- name: inbound_customers :many
-- The customers a page of Contact changes speaks for, locked until the page commits. The
-- storefront changed a customer since the last sync when its profile version is ahead of the
-- version last written to Salesforce.
SELECT 'c-' || c.id AS key, c.id, c.first_name, c.last_name, c.email, c.email_opt_out, c.phone,
       nullif(concat_ws(', ', c.address_line1, c.address_line2), '') AS street, c.city,
       c.postal_code, c.region, c.country,
       k.source_version IS NOT NULL AND c.profile_version > k.source_version AS unsynced
  FROM commerce.customers c
  LEFT JOIN outbox.salesforce_ids k
         ON k.destination = %(destination)s AND k.object_name = 'Contact'
        AND k.storefront_key = 'c-' || c.id
 WHERE c.id = ANY(%(ids)s::bigint[])
 ORDER BY c.id
   FOR UPDATE OF c

-- name: inbound_update_customers :one
-- Write the columns each change decided (``set``), and only those. The profile version does not
-- move: a change that came from Salesforce is not a storefront change to send back.
WITH changed AS (
    UPDATE commerce.customers c
       SET first_name = CASE WHEN r.set ? 'first_name'
                             THEN coalesce(r.set ->> 'first_name', '') ELSE c.first_name END,
           last_name = CASE WHEN r.set ? 'last_name' AND r.set ->> 'last_name' <> ''
                            THEN r.set ->> 'last_name' ELSE c.last_name END,
           email_opt_out = CASE WHEN r.set ? 'email_opt_out'
                                THEN coalesce((r.set ->> 'email_opt_out')::boolean, false)
                                ELSE c.email_opt_out END,
           phone = CASE WHEN r.set ? 'phone' THEN r.set ->> 'phone' ELSE c.phone END,
           address_line1 = CASE WHEN r.set ? 'street' THEN r.set ->> 'street'
                                ELSE c.address_line1 END,
           address_line2 = CASE WHEN r.set ? 'street' THEN NULL ELSE c.address_line2 END,
           city = CASE WHEN r.set ? 'city' THEN r.set ->> 'city' ELSE c.city END,
           postal_code = CASE WHEN r.set ? 'postal_code' THEN r.set ->> 'postal_code'
                              ELSE c.postal_code END,
           region = CASE WHEN r.set ? 'region' THEN r.set ->> 'region' ELSE c.region END,
           country = CASE WHEN r.set ? 'country' THEN r.set ->> 'country' ELSE c.country END,
           updated_at = coalesce(%(now)s::timestamptz, now())
      FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(id bigint, set jsonb)
     WHERE c.id = r.id
    RETURNING 1
)
SELECT count(*) FROM changed

-- name: inbound_organisations :many
-- The organisations a page of Account changes speaks for, locked until the page commits.
SELECT o.key, o.name, o.price_tier, o.discount_percent, o.credit_limit
  FROM commerce.organisations o
 WHERE o.key = ANY(%(keys)s::text[])
 ORDER BY o.key
   FOR UPDATE

-- name: inbound_insert_organisations :one
-- Organisations Salesforce knows as business Accounts and the storefront has no row for yet.
WITH created AS (
    INSERT INTO commerce.organisations
           (key, name, salesforce_account_id, price_tier, discount_percent, credit_limit)
    SELECT r.key, coalesce(r.set ->> 'name', r.key), r.account_id, r.set ->> 'price_tier',
           (r.set ->> 'discount_percent')::numeric, (r.set ->> 'credit_limit')::numeric
      FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(key text, account_id text, set jsonb)
        ON CONFLICT (key) DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM created

-- name: inbound_update_organisations :one
-- Write the columns each change decided (``set``), and only those.
WITH changed AS (
    UPDATE commerce.organisations o
       SET salesforce_account_id = r.account_id,
           name = CASE WHEN r.set ? 'name' AND r.set ->> 'name' <> '' THEN r.set ->> 'name'
                       ELSE o.name END,
           price_tier = CASE WHEN r.set ? 'price_tier' THEN r.set ->> 'price_tier'
                             ELSE o.price_tier END,
           discount_percent = CASE WHEN r.set ? 'discount_percent'
                                   THEN (r.set ->> 'discount_percent')::numeric
                                   ELSE o.discount_percent END,
           credit_limit = CASE WHEN r.set ? 'credit_limit'
                               THEN (r.set ->> 'credit_limit')::numeric ELSE o.credit_limit END,
           updated_at = coalesce(%(now)s::timestamptz, now())
      FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(key text, account_id text, set jsonb)
     WHERE o.key = r.key
    RETURNING 1
)
SELECT count(*) FROM changed

-- name: inbound_survivors :many
-- The key each merge survivor is written under, when the outbox wrote it.
SELECT DISTINCT ON (k.salesforce_id) k.salesforce_id, k.upsert_key
  FROM outbox.salesforce_ids k
 WHERE k.destination = %(destination)s AND k.object_name = %(object_name)s
   AND k.salesforce_id = ANY(%(record_ids)s::text[])
 ORDER BY k.salesforce_id, (k.matched_by = 'external_id') DESC, k.storefront_key

-- name: inbound_follow_merge :one
-- Storefront keys written to a record merged away now go to the survivor, under its key.
WITH moved AS (
    UPDATE outbox.salesforce_ids k
       SET salesforce_id = r.master_id, upsert_key = r.master_key, matched_by = 'merge',
           updated_at = coalesce(%(now)s::timestamptz, now())
      FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(record_id text, master_id text, master_key text)
     WHERE k.destination = %(destination)s AND k.object_name = %(object_name)s
       AND k.salesforce_id = r.record_id
    RETURNING 1
)
SELECT count(*) FROM moved

-- name: inbound_forget_deleted :one
-- A record deleted in Salesforce is no longer known: the next write of its key upserts it by
-- external ID, which creates it again.
WITH forgotten AS (
    DELETE FROM outbox.salesforce_ids k
     USING jsonb_to_recordset(%(rows)s::jsonb) AS r(record_id text)
     WHERE k.destination = %(destination)s AND k.object_name = %(object_name)s
       AND k.salesforce_id = r.record_id
    RETURNING 1
)
SELECT count(*) FROM forgotten

-- name: inbound_check :one
-- The rule of a CHECK constraint a change from Salesforce failed, to name the limit it passed.
SELECT pg_catalog.pg_get_constraintdef(c.oid)
  FROM pg_catalog.pg_constraint c
  JOIN pg_catalog.pg_class t ON t.oid = c.conrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
 WHERE c.conname = %(name)s AND t.relname = %(table)s AND n.nspname = %(schema)s
