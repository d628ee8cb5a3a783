"""Salesforce identity: which storefront keys are already records in the org, and which
customers matched more than one Contact.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

IDENTITY = r"""
CREATE TABLE outbox.salesforce_ids (
    destination      text NOT NULL REFERENCES outbox.destinations (name),
    object_name      text NOT NULL,
    storefront_key   text NOT NULL,
    upsert_key       text NOT NULL,
    salesforce_id    text NOT NULL,
    matched_by       text NOT NULL DEFAULT 'external_id'
                     CHECK (matched_by IN ('external_id', 'email')),
    first_written_at timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (destination, object_name, storefront_key)
);
CREATE INDEX salesforce_ids_salesforce_id ON outbox.salesforce_ids (salesforce_id);
COMMENT ON TABLE outbox.salesforce_ids IS 'Storefront keys the Salesforce destination has written, with the record''s Salesforce Id. A key found here is sent as an update, so fields Salesforce owns are never reset.';
COMMENT ON COLUMN outbox.salesforce_ids.destination IS 'The destination (a type: salesforce entry of the configuration) that wrote the record.';
COMMENT ON COLUMN outbox.salesforce_ids.object_name IS 'The sObject, such as Contact or OrderItem.';
COMMENT ON COLUMN outbox.salesforce_ids.storefront_key IS 'The external-ID value the mapping builds from the storefront (c-42, SO-1001, SO-1001-1).';
COMMENT ON COLUMN outbox.salesforce_ids.upsert_key IS 'The external-ID value the record is written under: the storefront key, or another record''s key when a guest was attached to an existing Contact by e-mail.';
COMMENT ON COLUMN outbox.salesforce_ids.salesforce_id IS 'The record''s 18-character Salesforce Id.';
COMMENT ON COLUMN outbox.salesforce_ids.matched_by IS 'external_id when the storefront key is the record''s own; email when a guest checkout was attached to a Contact found by its e-mail address.';
COMMENT ON COLUMN outbox.salesforce_ids.first_written_at IS 'When the destination first wrote or matched the record.';
COMMENT ON COLUMN outbox.salesforce_ids.updated_at IS 'When the destination last wrote the record.';

CREATE TABLE outbox.identity_conflicts (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    destination    text NOT NULL REFERENCES outbox.destinations (name),
    object_name    text NOT NULL,
    storefront_key text NOT NULL,
    match_field    text NOT NULL,
    match_value    text NOT NULL,
    candidate_ids  text[] NOT NULL,
    message_id     bigint,
    detected_at    timestamptz NOT NULL DEFAULT now(),
    resolved_at    timestamptz,
    resolution     text,
    UNIQUE (destination, object_name, storefront_key, match_value)
);
CREATE INDEX identity_conflicts_open ON outbox.identity_conflicts (detected_at) WHERE resolved_at IS NULL;
COMMENT ON TABLE outbox.identity_conflicts IS 'Customers that matched more than one Salesforce record, for a person to review. The message was delivered under the storefront''s own key meanwhile.';
COMMENT ON COLUMN outbox.identity_conflicts.id IS 'Conflict key.';
COMMENT ON COLUMN outbox.identity_conflicts.destination IS 'The destination that found the conflict.';
COMMENT ON COLUMN outbox.identity_conflicts.object_name IS 'The sObject searched, such as Contact.';
COMMENT ON COLUMN outbox.identity_conflicts.storefront_key IS 'The storefront key that could not be matched to one record (c-42).';
COMMENT ON COLUMN outbox.identity_conflicts.match_field IS 'The field searched, such as Email.';
COMMENT ON COLUMN outbox.identity_conflicts.match_value IS 'The value searched, such as the e-mail address.';
COMMENT ON COLUMN outbox.identity_conflicts.candidate_ids IS 'The Salesforce Ids of every record that matched.';
COMMENT ON COLUMN outbox.identity_conflicts.message_id IS 'The outbox message being delivered when the conflict was found.';
COMMENT ON COLUMN outbox.identity_conflicts.detected_at IS 'When the conflict was first found.';
COMMENT ON COLUMN outbox.identity_conflicts.resolved_at IS 'When a person resolved it; null while open.';
COMMENT ON COLUMN outbox.identity_conflicts.resolution IS 'What the person decided, in their words.';
"""


def upgrade() -> None:
    op.execute(IDENTITY)


def downgrade() -> None:
    op.execute("DROP TABLE outbox.identity_conflicts")
    op.execute("DROP TABLE outbox.salesforce_ids")
