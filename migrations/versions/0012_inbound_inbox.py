"""Salesforce back to the storefront: the inbox of changes read from the org, a watermark per
object, the organisations' price tier and credit limit, and the customer's phone and e-mail
opt-out.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

The pull_changes job records every Contact and Account change it reads (one row per record and
SystemModstamp, so a page read twice or a run that crashed records nothing twice), decides
each against the mapping's field ownership, applies the batch and moves the watermark in one
transaction. The DBA views over the inbox are in sql/views/inbound.sql.
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

INBOX = r"""
CREATE TABLE outbox.inbound_changes (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    object_name      text NOT NULL,
    record_id        text NOT NULL,
    system_modstamp  timestamptz NOT NULL,
    storefront_key   text,
    is_deleted       boolean NOT NULL DEFAULT false,
    master_record_id text,
    last_modified_by text,
    fields           jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(fields) = 'object'),
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'applied', 'skipped', 'conflict')),
    applied          text[] NOT NULL DEFAULT '{}',
    conflicts        jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(conflicts) = 'array'),
    detail           text,
    received_at      timestamptz NOT NULL DEFAULT now(),
    decided_at       timestamptz,
    UNIQUE (object_name, record_id, system_modstamp)
);
CREATE INDEX inbound_changes_pending ON outbox.inbound_changes (id) WHERE status = 'pending';
CREATE INDEX inbound_changes_conflicts ON outbox.inbound_changes (received_at) WHERE status = 'conflict';
CREATE INDEX inbound_changes_received ON outbox.inbound_changes (received_at);
COMMENT ON TABLE outbox.inbound_changes IS 'The inbox: every Contact and Account change read from Salesforce, one row per record and SystemModstamp, recorded before it is applied. A change read again (an overlapping page, a crashed run) finds its row and is not applied twice.';
COMMENT ON COLUMN outbox.inbound_changes.id IS 'Change key, in the order changes were recorded.';
COMMENT ON COLUMN outbox.inbound_changes.object_name IS 'The sObject changed: Contact or Account.';
COMMENT ON COLUMN outbox.inbound_changes.record_id IS 'The record''s 18-character Salesforce Id.';
COMMENT ON COLUMN outbox.inbound_changes.system_modstamp IS 'The record''s SystemModstamp as read: with record_id, what makes the change unique.';
COMMENT ON COLUMN outbox.inbound_changes.storefront_key IS 'The storefront key the record carries in its external-ID field (c-42, org:northgate clinic); null for a record the storefront never wrote.';
COMMENT ON COLUMN outbox.inbound_changes.is_deleted IS 'True when the record was deleted (read with queryAll); merged away when master_record_id is set.';
COMMENT ON COLUMN outbox.inbound_changes.master_record_id IS 'For a record deleted by a merge: the Id of the record that survived it.';
COMMENT ON COLUMN outbox.inbound_changes.last_modified_by IS 'LastModifiedById: the Salesforce user who made the change; the integration user''s own writes are never applied back.';
COMMENT ON COLUMN outbox.inbound_changes.fields IS 'The mapped fields as read, by Salesforce field name.';
COMMENT ON COLUMN outbox.inbound_changes.status IS 'pending (recorded, not yet decided), applied (at least one column changed), skipped (nothing to change: an echo of the outbox''s own write, a field the storefront owns, no storefront row), conflict (both sides changed a shared field; the owner''s value was kept).';
COMMENT ON COLUMN outbox.inbound_changes.applied IS 'The storefront columns the change wrote, such as {phone,email_opt_out}.';
COMMENT ON COLUMN outbox.inbound_changes.conflicts IS 'One entry per shared field both sides changed: field, column, storefront and salesforce values, and the side whose value was kept.';
COMMENT ON COLUMN outbox.inbound_changes.detail IS 'Why a change was skipped, or what a merge or deletion did to the identity rows.';
COMMENT ON COLUMN outbox.inbound_changes.received_at IS 'When the change was read.';
COMMENT ON COLUMN outbox.inbound_changes.decided_at IS 'When it was applied, skipped or found in conflict.';

CREATE TABLE outbox.inbound_watermarks (
    object_name  text PRIMARY KEY,
    watermark    timestamptz NOT NULL,
    changes_read bigint NOT NULL DEFAULT 0 CHECK (changes_read >= 0),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE outbox.inbound_watermarks IS 'How far pull_changes has read each sObject: moved in the same transaction as the changes it covers.';
COMMENT ON COLUMN outbox.inbound_watermarks.object_name IS 'The sObject: Contact or Account.';
COMMENT ON COLUMN outbox.inbound_watermarks.watermark IS 'The greatest SystemModstamp read and applied; the next run reads from one second before it.';
COMMENT ON COLUMN outbox.inbound_watermarks.changes_read IS 'Changes read since the first run, new and re-read alike.';
COMMENT ON COLUMN outbox.inbound_watermarks.updated_at IS 'When the watermark last moved.';

CREATE TABLE commerce.organisations (
    key                   text PRIMARY KEY CHECK (key = lower(btrim(key)) AND key <> ''),
    name                  text NOT NULL,
    salesforce_account_id text,
    price_tier            text,
    discount_percent      numeric(5, 2) CHECK (discount_percent BETWEEN 0 AND 100),
    credit_limit          numeric(12, 2) CHECK (credit_limit >= 0 AND credit_limit <> 'NaN'),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE commerce.organisations IS 'Organisations customers buy for, as Salesforce''s business Accounts describe them: the negotiated price tier and the credit limit sales set.';
COMMENT ON COLUMN commerce.organisations.key IS 'The organisation''s identity: its name trimmed and in lower case, as customers.organisation is matched (organisation_key).';
COMMENT ON COLUMN commerce.organisations.name IS 'The organisation''s name as Salesforce spells it.';
COMMENT ON COLUMN commerce.organisations.salesforce_account_id IS 'The business Account''s Salesforce Id.';
COMMENT ON COLUMN commerce.organisations.price_tier IS 'Account.Price_Tier__c: the name of the price tier sales negotiated (List, Silver, Gold).';
COMMENT ON COLUMN commerce.organisations.discount_percent IS 'Account.Discount_Percent__c: the tier''s discount off list prices, in percent; the reference checkout prices the organisation''s buyers'' lines with it. Null for list prices.';
COMMENT ON COLUMN commerce.organisations.credit_limit IS 'Account.Credit_Limit__c: what the organisation may owe on unpaid invoice orders at once; the reference checkout refuses an invoice order beyond it. Null: no limit is kept here.';
COMMENT ON COLUMN commerce.organisations.updated_at IS 'When a change from Salesforce last reached the row.';

ALTER TABLE commerce.customers
    ADD COLUMN phone         text,
    ADD COLUMN email_opt_out boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN commerce.customers.phone IS 'Telephone number; Salesforce masters it (Contact.Phone).';
COMMENT ON COLUMN commerce.customers.email_opt_out IS 'True when the customer unsubscribed from e-mail; Salesforce masters it (Contact.HasOptedOutOfEmail).';

ALTER TABLE outbox.salesforce_ids DROP CONSTRAINT salesforce_ids_matched_by_check;
ALTER TABLE outbox.salesforce_ids ADD CONSTRAINT salesforce_ids_matched_by_check
    CHECK (matched_by IN ('external_id', 'email', 'merge'));
COMMENT ON COLUMN outbox.salesforce_ids.matched_by IS 'external_id when the storefront key is the record''s own; email when a guest checkout was attached to a Contact found by its e-mail address; merge when the record was merged into another in Salesforce and writes now go to the survivor.';
"""


def upgrade() -> None:
    op.execute(INBOX)


def downgrade() -> None:
    op.execute(
        "DROP VIEW IF EXISTS outbox.inbound_conflicts, outbox.inbound_summary, outbox.inbound_recent"
    )
    op.execute(
        """
UPDATE outbox.salesforce_ids SET matched_by = 'external_id' WHERE matched_by = 'merge';
ALTER TABLE outbox.salesforce_ids DROP CONSTRAINT salesforce_ids_matched_by_check;
ALTER TABLE outbox.salesforce_ids ADD CONSTRAINT salesforce_ids_matched_by_check
    CHECK (matched_by IN ('external_id', 'email'));
ALTER TABLE commerce.customers DROP COLUMN phone, DROP COLUMN email_opt_out;
DROP TABLE commerce.organisations;
DROP TABLE outbox.inbound_watermarks;
DROP TABLE outbox.inbound_changes;
"""
    )
