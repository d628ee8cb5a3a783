"""The profile version each customer record in Salesforce was last written from, and the
mapping sections a drift finding blocks.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

An order carries a snapshot of its customer; a replay or a retried dead letter can deliver that
snapshot after a newer profile change has reached the Contact. The Salesforce destination keeps
the storefront profile version (``commerce.customers.profile_version``) it last wrote to each
record keyed by a customer, and never writes an older one over it.

Orders and registrations now share a customer's ordering key with its profile changes, and a
checkout can rename the customer too. The fold of waiting profile changes must therefore not
carry an older change across a message that stands between it and the newest: it replaces only
the pending customer.updated messages after the last other live message of the key.
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
ALTER TABLE outbox.salesforce_ids ADD COLUMN source_version bigint;
ALTER TABLE outbox.mapping_drift ADD COLUMN blocks text[] NOT NULL DEFAULT '{}';
COMMENT ON COLUMN outbox.mapping_drift.blocks IS 'Mapping sections whose writes the finding makes impossible (a field gone, not createable or updateable where they write it): their messages are dead-lettered naming the field until the mapping or the org is fixed.';
COMMENT ON COLUMN outbox.salesforce_ids.source_version IS 'Storefront profile version of the customer snapshot last written to this record (Contacts and household Accounts); an older snapshot never overwrites it. Null for records not keyed by a customer.';
"""
    )
    op.execute(FOLD.replace("__STOP__", STOP))


def downgrade() -> None:
    op.execute(FOLD.replace("__STOP__", ""))
    op.execute("ALTER TABLE outbox.salesforce_ids DROP COLUMN source_version")
    # outbox.current_drift (sql/views) selects d.*: rebuild it without the column.
    op.execute(
        """
DROP VIEW outbox.current_drift;
ALTER TABLE outbox.mapping_drift DROP COLUMN blocks;
CREATE VIEW outbox.current_drift AS
SELECT d.*
  FROM outbox.mapping_drift d
 WHERE d.checked_at = (SELECT max(x.checked_at) FROM outbox.mapping_drift x
                        WHERE x.destination = d.destination);
COMMENT ON VIEW outbox.current_drift IS 'What the latest drift check of each destination found (empty when the org still matches the mappings).';
"""
    )


# A live message of the key that is not a profile change, between the waiting one and the newest
# (an order whose snapshot may carry another name): the fold stops there.
STOP = """
           AND NOT EXISTS (
                SELECT 1 FROM outbox.messages x
                 WHERE x.destination = m.destination AND x.ordering_key = m.ordering_key
                   AND x.status IN ('pending', 'in_flight', 'retrying')
                   AND x.id > m.id AND x.id < n.id AND x.event_type <> 'customer.updated')"""

FOLD = r"""
CREATE OR REPLACE FUNCTION outbox.supersede_waiting_profile_changes(newest jsonb) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, outbox AS $$
BEGIN
    WITH newest AS (
        SELECT * FROM jsonb_to_recordset(newest) AS n(destination text, ordering_key text, id bigint)
    ), waiting AS (
        SELECT m.id, n.id AS newest_id, m.payload
          FROM outbox.messages m
          JOIN newest n ON m.destination = n.destination AND m.ordering_key = n.ordering_key
         WHERE m.status = 'pending' AND m.event_type = 'customer.updated' AND m.id < n.id__STOP__
         ORDER BY m.id
           FOR UPDATE OF m SKIP LOCKED
    ), replaced AS (
        UPDATE outbox.messages m
           SET status = 'superseded', updated_at = now(),
               last_error = 'superseded by message ' || w.newest_id
          FROM waiting w
         WHERE m.id = w.id
        RETURNING w.newest_id, w.id, w.payload
    ), merged AS (
        SELECT newest_id, jsonb_object_agg(key, value) AS changes
          FROM (SELECT DISTINCT ON (r.newest_id, c.key) r.newest_id, c.key, c.value
                  FROM replaced r, jsonb_each(coalesce(r.payload -> 'changes', '{}')) c
                 ORDER BY r.newest_id, c.key, r.id DESC) latest
         GROUP BY newest_id
    )
    UPDATE outbox.messages m
       SET payload = jsonb_set(m.payload, '{changes}',
                               g.changes || coalesce(m.payload -> 'changes', '{}')),
           updated_at = now()
      FROM merged g
     WHERE m.id = g.newest_id;
END
$$;
"""

