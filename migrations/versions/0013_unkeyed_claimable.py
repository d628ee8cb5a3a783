"""An index of the claimable messages without an ordering key.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

The claim reads the oldest due messages through messages_claimable_idx, at most twice its limit.
When those rows all belong to one long key, unkeyed messages due after them must still be
found without reading past the key's backlog: this index holds only claimable unkeyed rows, in
the order the claim takes them, so the claim reads exactly the rows it takes. Like the other
claim indexes it holds live rows only, and only unkeyed ones, so keyed messages never touch it.
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE INDEX messages_unkeyed_claimable_idx
            ON outbox.messages (destination, next_attempt_at, id)
         WHERE status IN ('pending', 'retrying') AND ordering_key IS NULL
        """
    )


def downgrade() -> None:
    op.execute("DROP INDEX outbox.messages_unkeyed_claimable_idx")
