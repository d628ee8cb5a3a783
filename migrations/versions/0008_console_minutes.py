"""Per-minute delivery figures for the operator console's charts.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

The console charts delivered, failed and dead messages per minute and the age of the oldest
undelivered message over the last hour and day. Counting those from outbox.attempts on every
page view reads every attempt of the day (millions of rows in a busy shop), so the dispatcher's
sampler rolls finished minutes up into one small row per destination and minute, and records the
sampled lag into the same row; the page reads at most 1,440 rows per destination plus the
attempts of the last minute or two.
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UP = r"""
CREATE TABLE outbox.minutes (
    destination         text NOT NULL,
    minute              timestamptz NOT NULL,
    delivered           integer NOT NULL DEFAULT 0,
    failed              integer NOT NULL DEFAULT 0,
    dead                integer NOT NULL DEFAULT 0,
    oldest_age_seconds  double precision,
    undelivered         integer,
    PRIMARY KEY (destination, minute)
);
COMMENT ON TABLE outbox.minutes IS 'Per destination and minute: attempts by outcome (rolled up from outbox.attempts) and the sampled lag. Feeds the console''s charts; pruned after eight days.';
COMMENT ON COLUMN outbox.minutes.destination IS 'The destination (outbox.destinations.name).';
COMMENT ON COLUMN outbox.minutes.minute IS 'Start of the minute (UTC).';
COMMENT ON COLUMN outbox.minutes.delivered IS 'Attempts of the minute that delivered.';
COMMENT ON COLUMN outbox.minutes.failed IS 'Attempts of the minute that failed and will be retried.';
COMMENT ON COLUMN outbox.minutes.dead IS 'Attempts of the minute that failed for good (dead letters).';
COMMENT ON COLUMN outbox.minutes.oldest_age_seconds IS 'Largest sampled age of the oldest undelivered message during the minute.';
COMMENT ON COLUMN outbox.minutes.undelivered IS 'Undelivered messages at the latest sample of the minute.';

CREATE TABLE outbox.rollups (
    name          text PRIMARY KEY,
    rolled_until  timestamptz NOT NULL
);
COMMENT ON TABLE outbox.rollups IS 'How far each roll-up has counted; its row is locked while one dispatcher rolls, so only one does.';
COMMENT ON COLUMN outbox.rollups.name IS 'The roll-up (minutes).';
COMMENT ON COLUMN outbox.rollups.rolled_until IS 'Attempts finished before this instant are counted in the roll-up.';
-- Dead letters by cause with first and last seen, from the index alone; only dead rows are in
-- it, so delivering a healthy message never touches it.
CREATE INDEX messages_dead_seen_idx ON outbox.messages (destination, last_error_code, updated_at)
    WHERE status = 'dead';

INSERT INTO outbox.rollups (name, rolled_until)
VALUES ('minutes', date_trunc('minute', now() - interval '1 day'));
"""

DOWN = r"""
DROP INDEX outbox.messages_dead_seen_idx;
DROP TABLE outbox.rollups;
DROP TABLE outbox.minutes;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
