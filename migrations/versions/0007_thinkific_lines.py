"""Thinkific: the order lines whose access was granted or taken back, so a late or retried
enrollment of a revoked line grants nothing, and taking a line back keeps what other paid lines
of the course give (access follows money, whatever the delivery order).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UP = r"""
CREATE TABLE outbox.thinkific_lines (
    site         text NOT NULL,
    line         text NOT NULL,
    user_id      bigint,
    course_id    bigint,
    expiry_date  timestamptz,
    granted_at   timestamptz,
    revoked_at   timestamptz,
    message_id   bigint NOT NULL,
    PRIMARY KEY (site, line),
    CONSTRAINT thinkific_lines_granted_or_revoked CHECK (granted_at IS NOT NULL OR revoked_at IS NOT NULL)
);
CREATE INDEX thinkific_lines_paid ON outbox.thinkific_lines (site, user_id, course_id)
    WHERE revoked_at IS NULL;
COMMENT ON TABLE outbox.thinkific_lines IS 'Order lines whose course access the destination granted or took back on a Thinkific site. Access follows money whatever the delivery order: an enrollment.requested of a revoked line (retried from dead, replayed, late) enrolls nothing, and taking one line back leaves the access other paid lines of the course still give.';
COMMENT ON COLUMN outbox.thinkific_lines.site IS 'The Thinkific site (API base URL and subdomain).';
COMMENT ON COLUMN outbox.thinkific_lines.line IS 'The line''s enrollment_id, shared by its enrollment.requested and enrollment.revoked messages (order number and line number).';
COMMENT ON COLUMN outbox.thinkific_lines.user_id IS 'The Thinkific user the line enrolled; null for a line taken back before it was ever granted.';
COMMENT ON COLUMN outbox.thinkific_lines.course_id IS 'The Thinkific course the line enrolled; null for a line taken back before it was ever granted.';
COMMENT ON COLUMN outbox.thinkific_lines.expiry_date IS 'The end of access the line paid for; null when it never expires.';
COMMENT ON COLUMN outbox.thinkific_lines.granted_at IS 'When the line''s enrollment was delivered; null when it never was.';
COMMENT ON COLUMN outbox.thinkific_lines.revoked_at IS 'When the line was refunded or cancelled on the site (its enrollment.revoked delivered); null while it is paid.';
COMMENT ON COLUMN outbox.thinkific_lines.message_id IS 'The outbox message that last wrote the row.';
COMMENT ON COLUMN outbox.thinkific_users.groups IS 'Keys of the Thinkific groups (organisations, as organisation_key spells them: trimmed, lower case) the destination has added the user to, so a membership is sent once however the organisation is spelt.';
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute("DROP TABLE outbox.thinkific_lines")
