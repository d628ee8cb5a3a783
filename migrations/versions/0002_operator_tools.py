"""Operator tooling: the audit of operator actions and an index for dead letters.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UP = r"""
CREATE TABLE outbox.operator_actions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL DEFAULT session_user,
    action      text NOT NULL CHECK (action IN ('retry', 'retry_dead', 'cancel', 'replay', 'release_key')),
    message_id  bigint,
    destination text,
    detail      text,
    reason      text,
    affected    integer NOT NULL DEFAULT 0
);
CREATE INDEX operator_actions_at_idx ON outbox.operator_actions (at);
CREATE INDEX operator_actions_message_idx ON outbox.operator_actions (message_id) WHERE message_id IS NOT NULL;
COMMENT ON TABLE outbox.operator_actions IS 'Audit of every operator action taken through the outbox functions or the CLI: who, when, what and why.';
COMMENT ON COLUMN outbox.operator_actions.id IS 'Action key.';
COMMENT ON COLUMN outbox.operator_actions.at IS 'When the action was taken.';
COMMENT ON COLUMN outbox.operator_actions.actor IS 'Database user who took it (session_user), or the name the CLI passed.';
COMMENT ON COLUMN outbox.operator_actions.action IS 'retry, retry_dead, cancel, replay or release_key.';
COMMENT ON COLUMN outbox.operator_actions.message_id IS 'The message acted on, for single-message actions.';
COMMENT ON COLUMN outbox.operator_actions.destination IS 'The destination acted on, for bulk actions.';
COMMENT ON COLUMN outbox.operator_actions.detail IS 'What else selected the messages (an error code, a time range, an ordering key).';
COMMENT ON COLUMN outbox.operator_actions.reason IS 'Why, in the operator''s words.';
COMMENT ON COLUMN outbox.operator_actions.affected IS 'How many messages the action changed.';

CREATE INDEX messages_dead_idx ON outbox.messages (destination, last_error_code, id) WHERE status = 'dead';
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute("DROP INDEX outbox.messages_dead_idx")
    op.execute("DROP TABLE outbox.operator_actions")
