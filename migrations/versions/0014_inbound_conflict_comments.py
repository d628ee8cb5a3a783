"""The inbox's column comments name both kinds of conflict.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

A change from Salesforce becomes a conflict when a shared field changed on both sides, and also
when a value it carries does not fit the storefront's column (too long, out of range, or refused
by a CHECK): then the field's entry, or the change's detail, gives the reason. The comments a
DBA reads in psql said only the first.
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

STATUS = (
    "pending (recorded, not yet decided), applied (at least one column changed), skipped "
    "(nothing to change: an echo of the outbox''s own write, a field the storefront owns, no "
    "storefront row), conflict (both sides changed a shared field and the owner''s value was "
    "kept, or a value does not fit the storefront''s column and the storefront kept its own)."
)
CONFLICTS = (
    "One entry per field not applied as read: a shared field both sides changed (field, column, "
    "storefront and salesforce values, the side whose value was kept), or a value the column "
    "cannot hold (the same, kept by the storefront, and a reason naming the limit)."
)
DETAIL = (
    "Why a change was skipped, what a merge or deletion did to the identity rows, or why a "
    "change as a whole did not fit the storefront."
)


def upgrade() -> None:
    op.execute(f"COMMENT ON COLUMN outbox.inbound_changes.status IS '{STATUS}'")
    op.execute(f"COMMENT ON COLUMN outbox.inbound_changes.conflicts IS '{CONFLICTS}'")
    op.execute(f"COMMENT ON COLUMN outbox.inbound_changes.detail IS '{DETAIL}'")


def downgrade() -> None:
    """The comments as revision 0012 wrote them."""
    op.execute(
        "COMMENT ON COLUMN outbox.inbound_changes.status IS 'pending (recorded, not yet "
        "decided), applied (at least one column changed), skipped (nothing to change: an echo "
        "of the outbox''s own write, a field the storefront owns, no storefront row), conflict "
        "(both sides changed a shared field; the owner''s value was kept).'"
    )
    op.execute(
        "COMMENT ON COLUMN outbox.inbound_changes.conflicts IS 'One entry per shared field both "
        "sides changed: field, column, storefront and salesforce values, and the side whose "
        "value was kept.'"
    )
    op.execute(
        "COMMENT ON COLUMN outbox.inbound_changes.detail IS 'Why a change was skipped, or what "
        "a merge or deletion did to the identity rows.'"
    )
