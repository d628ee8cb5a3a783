-- name: salesforce_pricebook_entries :many
-- The PricebookEntry Id of each SKU, from the catalog replicated out of Salesforce.
SELECT sku, salesforce_pricebook_entry_id
  FROM commerce.products
 WHERE sku = ANY(%(skus)s::text[])
   AND salesforce_pricebook_entry_id IS NOT NULL

-- name: salesforce_known_ids :many
-- Which storefront keys of a batch are already records in the org, and under which key they
-- are written (their own, or a Contact's they were attached to by e-mail).
SELECT k.object_name, k.storefront_key, k.upsert_key, k.salesforce_id, k.source_version,
       k.matched_by
  FROM outbox.salesforce_ids k
  JOIN unnest(%(objects)s::text[], %(keys)s::text[]) AS wanted(object_name, storefront_key)
    ON wanted.object_name = k.object_name AND wanted.storefront_key = k.storefront_key
 WHERE k.destination = %(destination)s

-- name: salesforce_remember_ids :exec
-- Remember records written (or attached) so the next write of the same key is an update, and
-- the newest customer profile version written to each (never lowered).
INSERT INTO outbox.salesforce_ids
       (destination, object_name, storefront_key, upsert_key, salesforce_id, matched_by,
        source_version)
SELECT %(destination)s, o, k, u, s, m, v
  FROM unnest(%(objects)s::text[], %(keys)s::text[], %(upsert_keys)s::text[],
              %(salesforce_ids)s::text[], %(matched_by)s::text[],
              %(versions)s::bigint[]) AS r(o, k, u, s, m, v)
    ON CONFLICT (destination, object_name, storefront_key) DO UPDATE
   SET upsert_key = EXCLUDED.upsert_key,
       salesforce_id = EXCLUDED.salesforce_id,
       matched_by = EXCLUDED.matched_by,
       source_version = greatest(outbox.salesforce_ids.source_version, EXCLUDED.source_version),
       updated_at = coalesce(%(now)s::timestamptz, now())

-- name: salesforce_identity_conflict :exec
-- Keep a customer that matched several Salesforce records for a person to review.
INSERT INTO outbox.identity_conflicts
       (destination, object_name, storefront_key, match_field, match_value, candidate_ids,
        message_id)
VALUES (%(destination)s, %(object_name)s, %(storefront_key)s, %(match_field)s,
        %(match_value)s, %(candidate_ids)s::text[], %(message_id)s)
    ON CONFLICT (destination, object_name, storefront_key, match_value) DO UPDATE
   SET candidate_ids = EXCLUDED.candidate_ids

-- name: salesforce_blocked_sections :many
-- Sections the latest drift check of this mapping version found unable to write, with the
-- finding that says why (outbox.mapping_drift.blocks).
SELECT b.section, d.object_name, d.field, d.kind, d.detail
  FROM outbox.mapping_drift d, unnest(d.blocks) AS b(section)
 WHERE d.destination = %(destination)s AND d.mapping_version = %(version)s
   AND d.checked_at = (SELECT max(x.checked_at) FROM outbox.mapping_drift x
                        WHERE x.destination = %(destination)s)
