"""Operator tooling (the audit of operator actions, an index for dead letters), the shared
API budgets of rate-limited destinations, and the state of scheduled jobs and catalog pulls.

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
COMMENT ON COLUMN outbox.rate_budgets.destination IS 'What the budget limits: a destination, or one site of it (a Thinkific site is keyed by its API URL and subdomain).';
COMMENT ON COLUMN outbox.rate_budgets.window_started_at IS 'Start of the current window, aligned to the wall clock (a minute for Thinkific).';
COMMENT ON COLUMN outbox.rate_budgets.used IS 'Requests granted so far in this window.';

CREATE TABLE outbox.jobs (
    name             text PRIMARY KEY,
    interval_seconds double precision NOT NULL CHECK (interval_seconds > 0),
    next_run_at      timestamptz NOT NULL DEFAULT now(),
    running_by       text,
    running_until    timestamptz,
    last_started_at  timestamptz,
    last_finished_at timestamptz,
    last_outcome     text,
    last_detail      text
);
COMMENT ON TABLE outbox.jobs IS 'Scheduled jobs: one row each. A dispatcher runs a job only by winning its due tick (next_run_at), so each tick runs once across the fleet.';
COMMENT ON COLUMN outbox.jobs.name IS 'Job name (pull_catalog, reap_leases, prune_history, check_drift, reconcile).';
COMMENT ON COLUMN outbox.jobs.interval_seconds IS 'Configured interval between runs.';
COMMENT ON COLUMN outbox.jobs.next_run_at IS 'When the next tick is due; the winner of a tick moves it forward.';
COMMENT ON COLUMN outbox.jobs.running_by IS 'Worker id running the job now, if any.';
COMMENT ON COLUMN outbox.jobs.running_until IS 'When a running claim lapses (a crashed holder''s run may then be taken over).';
COMMENT ON COLUMN outbox.jobs.last_started_at IS 'When the latest run started.';
COMMENT ON COLUMN outbox.jobs.last_finished_at IS 'When the latest run finished.';
COMMENT ON COLUMN outbox.jobs.last_outcome IS 'ok or failed.';
COMMENT ON COLUMN outbox.jobs.last_detail IS 'What the latest run did or why it failed.';

CREATE TABLE outbox.job_runs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL,
    worker      text NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    outcome     text,
    detail      text
);
CREATE INDEX job_runs_name_idx ON outbox.job_runs (name, started_at);
COMMENT ON TABLE outbox.job_runs IS 'One row per run of a scheduled job.';
COMMENT ON COLUMN outbox.job_runs.id IS 'Run key.';
COMMENT ON COLUMN outbox.job_runs.name IS 'The job.';
COMMENT ON COLUMN outbox.job_runs.worker IS 'Worker id that ran it.';
COMMENT ON COLUMN outbox.job_runs.started_at IS 'When the run started.';
COMMENT ON COLUMN outbox.job_runs.finished_at IS 'When it finished; null while running or if its worker died.';
COMMENT ON COLUMN outbox.job_runs.outcome IS 'ok or failed.';
COMMENT ON COLUMN outbox.job_runs.detail IS 'What the run did (rows read, changed, pruned) or why it failed.';

CREATE TABLE outbox.sync_watermarks (
    source     text PRIMARY KEY,
    watermark  timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE outbox.sync_watermarks IS 'How far each scheduled pull has read (such as Product2 by SystemModstamp); advanced in the same transaction as the data.';
COMMENT ON COLUMN outbox.sync_watermarks.source IS 'What is pulled (salesforce.Product2, salesforce.PricebookEntry).';
COMMENT ON COLUMN outbox.sync_watermarks.watermark IS 'Greatest SystemModstamp applied; the next pull re-reads a small overlap before it.';
COMMENT ON COLUMN outbox.sync_watermarks.updated_at IS 'When the watermark last moved.';

CREATE TABLE outbox.sync_runs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source       text NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    rows_read    integer NOT NULL DEFAULT 0,
    rows_changed integer NOT NULL DEFAULT 0,
    errors       integer NOT NULL DEFAULT 0,
    detail       text
);
CREATE INDEX sync_runs_source_idx ON outbox.sync_runs (source, started_at);
COMMENT ON TABLE outbox.sync_runs IS 'Every scheduled pull: when, rows read and changed, errors.';
COMMENT ON COLUMN outbox.sync_runs.id IS 'Run key.';
COMMENT ON COLUMN outbox.sync_runs.source IS 'What was pulled.';
COMMENT ON COLUMN outbox.sync_runs.started_at IS 'When the pull started.';
COMMENT ON COLUMN outbox.sync_runs.finished_at IS 'When it finished; null if it died.';
COMMENT ON COLUMN outbox.sync_runs.rows_read IS 'Records read from the source.';
COMMENT ON COLUMN outbox.sync_runs.rows_changed IS 'Rows of commerce tables that changed.';
COMMENT ON COLUMN outbox.sync_runs.errors IS 'Records that could not be applied.';
COMMENT ON COLUMN outbox.sync_runs.detail IS 'A note on the run, such as the first error.';

CREATE TABLE outbox.mapping_drift (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    checked_at      timestamptz NOT NULL DEFAULT now(),
    destination     text NOT NULL,
    mapping_version text,
    object_name     text NOT NULL,
    field           text NOT NULL,
    kind            text NOT NULL,
    detail          text NOT NULL
);
CREATE INDEX mapping_drift_checked_idx ON outbox.mapping_drift (destination, checked_at);
COMMENT ON TABLE outbox.mapping_drift IS 'Findings of the mapping drift check against the live org: a mapped field renamed, no longer writable, changed type or length, a picklist value gone. One row per finding per check.';
COMMENT ON COLUMN outbox.mapping_drift.id IS 'Finding key.';
COMMENT ON COLUMN outbox.mapping_drift.checked_at IS 'When the check ran.';
COMMENT ON COLUMN outbox.mapping_drift.destination IS 'The destination whose org was described.';
COMMENT ON COLUMN outbox.mapping_drift.mapping_version IS 'Content hash of the mapping checked.';
COMMENT ON COLUMN outbox.mapping_drift.object_name IS 'The sObject.';
COMMENT ON COLUMN outbox.mapping_drift.field IS 'The mapped field.';
COMMENT ON COLUMN outbox.mapping_drift.kind IS 'missing_object, missing_field, not_createable, not_updateable, type_changed, length_shrank, picklist_value_gone, picklist_value_inactive or required_unmapped.';
COMMENT ON COLUMN outbox.mapping_drift.detail IS 'What changed, in words.';

CREATE INDEX messages_dead_idx ON outbox.messages (destination, last_error_code, id) WHERE status = 'dead';
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute("DROP INDEX outbox.messages_dead_idx")
    op.execute("DROP TABLE outbox.rate_budgets")
    op.execute("DROP TABLE outbox.jobs, outbox.job_runs, outbox.sync_watermarks, outbox.sync_runs")
    op.execute("DROP VIEW IF EXISTS outbox.current_drift")
    op.execute("DROP TABLE outbox.mapping_drift")
    op.execute("DROP TABLE outbox.operator_actions")
