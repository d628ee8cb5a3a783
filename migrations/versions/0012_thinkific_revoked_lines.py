"""Thinkific: the order lines whose access was taken back, so a late or retried enrollment of
such a line grants nothing (access follows money, whatever the delivery order).

Revision ID: 0012
Revises: 0006
Create Date: 2026-12-02
"""

from alembic import op

revision = "0012"
down_revision = "0006"
branch_labels = None
depends_on = None

UP = r"""
CREATE TABLE outbox.thinkific_revoked_lines (
    site        text NOT NULL,
    line        text NOT NULL,
    message_id  bigint NOT NULL,
    revoked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site, line)
);
COMMENT ON TABLE outbox.thinkific_revoked_lines IS 'Order lines refunded or cancelled, recorded when their enrollment.revoked message is delivered (even when the site had nothing to take back). An enrollment.requested of such a line, retried from dead, replayed or late, enrolls nothing.';
COMMENT ON COLUMN outbox.thinkific_revoked_lines.site IS 'The Thinkific site (API base URL and subdomain) the revocation was delivered to.';
COMMENT ON COLUMN outbox.thinkific_revoked_lines.line IS 'The line''s enrollment_id in both messages (order number and line number).';
COMMENT ON COLUMN outbox.thinkific_revoked_lines.message_id IS 'The enrollment.revoked message that took the line back.';
COMMENT ON COLUMN outbox.thinkific_revoked_lines.revoked_at IS 'When the revocation was first delivered.';
COMMENT ON COLUMN outbox.thinkific_users.groups IS 'Keys of the Thinkific groups (organisations, as organisation_key spells them: trimmed, lower case) the destination has added the user to, so a membership is sent once however the organisation is spelt.';
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute("DROP TABLE outbox.thinkific_revoked_lines")
