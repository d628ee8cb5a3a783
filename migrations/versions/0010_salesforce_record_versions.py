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
the pending customer.updated messages after the last other live message of the key. The fold is
a replaceable function (``sql/functions/triggers.sql``), re-applied by every migrate, so this
revision owns only the columns.
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


def downgrade() -> None:
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

