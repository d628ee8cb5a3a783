"""Operator tooling (the audit of operator actions, an index for dead letters) and the shared
API budgets of rate-limited destinations.

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

CREATE TABLE outbox.rate_budgets (
    destination       text PRIMARY KEY,
    window_started_at timestamptz NOT NULL,
    used              integer NOT NULL DEFAULT 0 CHECK (used >= 0)
);
COMMENT ON TABLE outbox.rate_budgets IS 'Requests spent in the current rate-limit window per destination, shared by every dispatcher process and host (see outbox.take_budget).';
COMMENT ON COLUMN outbox.rate_budgets.destination IS 'The rate-limited destination (a name from outbox.destinations).';
COMMENT ON COLUMN outbox.rate_budgets.window_started_at IS 'Start of the current window, aligned to the wall clock (a minute for Thinkific).';
COMMENT ON COLUMN outbox.rate_budgets.used IS 'Requests granted so far in this window.';

CREATE INDEX messages_dead_idx ON outbox.messages (destination, last_error_code, id) WHERE status = 'dead';
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute("DROP INDEX outbox.messages_dead_idx")
    op.execute("DROP TABLE outbox.rate_budgets")
    op.execute("DROP TABLE outbox.operator_actions")
