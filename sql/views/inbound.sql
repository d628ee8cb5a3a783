-- outbox.inbound_summary: per sObject, how many changes from Salesforce were applied, skipped or
-- found in conflict, and how far the pull has read.
CREATE OR REPLACE VIEW outbox.inbound_summary AS
SELECT w.object_name,
       w.watermark,
       w.changes_read,
       coalesce(c.applied, 0) AS applied,
       coalesce(c.skipped, 0) AS skipped,
       coalesce(c.conflict, 0) AS conflict,
       coalesce(c.pending, 0) AS pending,
       c.last_received_at
  FROM outbox.inbound_watermarks w
  LEFT JOIN (
        SELECT object_name,
               count(*) FILTER (WHERE status = 'applied') AS applied,
               count(*) FILTER (WHERE status = 'skipped') AS skipped,
               count(*) FILTER (WHERE status = 'conflict') AS conflict,
               count(*) FILTER (WHERE status = 'pending') AS pending,
               max(received_at) AS last_received_at
          FROM outbox.inbound_changes
         GROUP BY object_name) c ON c.object_name = w.object_name;
COMMENT ON VIEW outbox.inbound_summary IS 'Changes read from Salesforce per sObject: the watermark (greatest SystemModstamp applied), changes read, and how many were applied, skipped (an echo of the outbox''s own write, a field the storefront owns, no storefront row) or in conflict.';

-- outbox.inbound_conflicts: one row per field of a change not applied as read, for a person to
-- review: a shared field both sides changed since the last sync (the value kept and the one that
-- lost), or a value the storefront's column cannot hold (why, naming the limit). A change refused
-- as a whole has one row without a field. Columns are only ever added at the end: the view is
-- replaced in place on every migrate.
CREATE OR REPLACE VIEW outbox.inbound_conflicts AS
SELECT c.id AS change_id,
       c.object_name,
       c.record_id,
       c.storefront_key,
       f.item ->> 'field' AS field,
       f.item ->> 'column' AS storefront_column,
       f.item ->> 'storefront' AS storefront_value,
       f.item ->> 'salesforce' AS salesforce_value,
       f.item ->> 'kept' AS kept,
       c.system_modstamp,
       c.received_at,
       coalesce(f.item ->> 'reason', c.detail) AS reason
  FROM outbox.inbound_changes c
  LEFT JOIN LATERAL jsonb_array_elements(c.conflicts) AS f(item) ON true
 WHERE c.status = 'conflict';
COMMENT ON VIEW outbox.inbound_conflicts IS 'Changes from Salesforce not applied as read, per field, for review: a shared field changed both in the storefront and in Salesforce since the last sync (the value kept, named by kept, and the one that lost), or a value the storefront''s column cannot hold (reason names the field, the value and the limit; the storefront kept its value, and a later change in Salesforce to a value that fits applies).';

-- outbox.inbound_recent: the last changes read, newest first, with what became of each.
CREATE OR REPLACE VIEW outbox.inbound_recent AS
SELECT c.id, c.object_name, c.record_id, c.storefront_key, c.status, c.applied, c.detail,
       c.is_deleted, c.master_record_id, c.last_modified_by, c.system_modstamp, c.received_at
  FROM outbox.inbound_changes c
 ORDER BY c.id DESC
 LIMIT 500;
COMMENT ON VIEW outbox.inbound_recent IS 'The 500 changes last read from Salesforce, newest first: status, the storefront columns written (applied) and why a change was skipped (detail).';
