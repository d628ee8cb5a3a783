"""An order's life after checkout: payments, parcels, refunds, cancellation, profile changes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28

The fold of waiting profile changes and the insert trigger that calls it are replaceable
functions (``sql/functions/triggers.sql``), re-applied by every migrate; this revision owns the
tables and columns.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UP = r"""
ALTER TABLE commerce.orders
    ADD COLUMN amount_paid     numeric(12, 2) NOT NULL DEFAULT 0 CHECK (amount_paid >= 0),
    ADD COLUMN amount_refunded numeric(12, 2) NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0),
    ADD COLUMN cancelled_at    timestamptz,
    ADD COLUMN cancel_reason   text,
    ADD COLUMN cancel_correlation_id uuid,
    ADD CONSTRAINT never_overpaid CHECK (amount_paid <= total),
    ADD CONSTRAINT never_refunded_more_than_paid CHECK (amount_refunded <= amount_paid);
COMMENT ON COLUMN commerce.orders.amount_paid IS 'Sum of the payments recorded for the order (commerce.payments); never above total.';
COMMENT ON COLUMN commerce.orders.amount_refunded IS 'Sum of the refunds recorded for the order (commerce.refunds); never above amount_paid.';
COMMENT ON COLUMN commerce.orders.cancelled_at IS 'When the order was cancelled; null while it stands. A cancelled order takes no payment and no shipment.';
COMMENT ON COLUMN commerce.orders.cancel_reason IS 'Why the order was cancelled, as the storefront gave it.';
COMMENT ON COLUMN commerce.orders.cancel_correlation_id IS 'Correlation id of the cancellation; the messages it published carry it, so a retried cancellation returns them.';

CREATE TABLE commerce.payments (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id           bigint NOT NULL REFERENCES commerce.orders (id),
    provider_reference text NOT NULL UNIQUE CHECK (provider_reference <> ''),
    method             text NOT NULL CHECK (method <> ''),
    amount             numeric(12, 2) NOT NULL CHECK (amount > 0),
    paid_at            timestamptz NOT NULL DEFAULT now(),
    correlation_id     uuid NOT NULL DEFAULT gen_random_uuid()
);
CREATE INDEX payments_order_idx ON commerce.payments (order_id);
COMMENT ON TABLE commerce.payments IS 'Money received for an order, one row per payment the provider confirmed; an order may be paid in parts.';
COMMENT ON COLUMN commerce.payments.id IS 'Storefront payment key.';
COMMENT ON COLUMN commerce.payments.order_id IS 'The order paid.';
COMMENT ON COLUMN commerce.payments.provider_reference IS 'The payment provider''s reference (a charge or transfer id); unique, so a retried call records the payment once.';
COMMENT ON COLUMN commerce.payments.method IS 'card, invoice, paypal or bank_transfer.';
COMMENT ON COLUMN commerce.payments.amount IS 'Amount received, in the order''s currency; positive.';
COMMENT ON COLUMN commerce.payments.paid_at IS 'When the payment was recorded.';
COMMENT ON COLUMN commerce.payments.correlation_id IS 'Correlation id of the messages the payment published.';

CREATE TABLE commerce.shipments (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id        bigint NOT NULL REFERENCES commerce.orders (id),
    shipment_ref    text NOT NULL UNIQUE CHECK (shipment_ref <> ''),
    carrier         text NOT NULL CHECK (carrier <> ''),
    tracking_number text NOT NULL CHECK (tracking_number <> ''),
    shipped_at      timestamptz NOT NULL DEFAULT now(),
    correlation_id  uuid NOT NULL DEFAULT gen_random_uuid()
);
CREATE INDEX shipments_order_idx ON commerce.shipments (order_id);
COMMENT ON TABLE commerce.shipments IS 'Parcels sent for an order; an order may ship in several parcels. Each becomes a Shipment__c in Salesforce.';
COMMENT ON COLUMN commerce.shipments.id IS 'Storefront shipment key.';
COMMENT ON COLUMN commerce.shipments.order_id IS 'The order the parcel belongs to.';
COMMENT ON COLUMN commerce.shipments.shipment_ref IS 'The warehouse''s parcel reference; unique, and the external ID of the Salesforce Shipment__c.';
COMMENT ON COLUMN commerce.shipments.carrier IS 'Who carries the parcel (UPS, DHL, Royal Mail...).';
COMMENT ON COLUMN commerce.shipments.tracking_number IS 'The carrier''s tracking number of the parcel.';
COMMENT ON COLUMN commerce.shipments.shipped_at IS 'When the parcel left.';
COMMENT ON COLUMN commerce.shipments.correlation_id IS 'Correlation id of the messages the shipment published.';

CREATE TABLE commerce.shipment_lines (
    shipment_id   bigint NOT NULL REFERENCES commerce.shipments (id),
    order_line_id bigint NOT NULL REFERENCES commerce.order_lines (id),
    quantity      integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (shipment_id, order_line_id)
);
CREATE INDEX shipment_lines_line_idx ON commerce.shipment_lines (order_line_id);
COMMENT ON TABLE commerce.shipment_lines IS 'What a parcel holds: units of physical order lines. A line never ships more units than were ordered.';
COMMENT ON COLUMN commerce.shipment_lines.shipment_id IS 'The parcel.';
COMMENT ON COLUMN commerce.shipment_lines.order_line_id IS 'The physical order line shipped.';
COMMENT ON COLUMN commerce.shipment_lines.quantity IS 'Units of the line in this parcel; positive.';

CREATE TABLE commerce.refunds (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id       bigint NOT NULL REFERENCES commerce.orders (id),
    refund_ref     text NOT NULL UNIQUE CHECK (refund_ref <> ''),
    amount         numeric(12, 2) NOT NULL CHECK (amount > 0),
    refunded_at    timestamptz NOT NULL DEFAULT now(),
    correlation_id uuid NOT NULL DEFAULT gen_random_uuid()
);
CREATE INDEX refunds_order_idx ON commerce.refunds (order_id);
COMMENT ON TABLE commerce.refunds IS 'Money given back on an order; the refunds of an order never add up to more than was paid.';
COMMENT ON COLUMN commerce.refunds.id IS 'Storefront refund key.';
COMMENT ON COLUMN commerce.refunds.order_id IS 'The order refunded.';
COMMENT ON COLUMN commerce.refunds.refund_ref IS 'The storefront''s or provider''s refund reference; unique, so a retried call refunds once.';
COMMENT ON COLUMN commerce.refunds.amount IS 'Amount given back, in the order''s currency; positive.';
COMMENT ON COLUMN commerce.refunds.refunded_at IS 'When the refund was recorded.';
COMMENT ON COLUMN commerce.refunds.correlation_id IS 'Correlation id of the messages the refund published.';

CREATE TABLE commerce.refund_lines (
    refund_id     bigint NOT NULL REFERENCES commerce.refunds (id),
    order_line_id bigint NOT NULL REFERENCES commerce.order_lines (id),
    quantity      integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (refund_id, order_line_id)
);
CREATE INDEX refund_lines_line_idx ON commerce.refund_lines (order_line_id);
COMMENT ON TABLE commerce.refund_lines IS 'Which lines a refund is for, when it names them; a fully refunded digital-license line loses its course access.';
COMMENT ON COLUMN commerce.refund_lines.refund_id IS 'The refund.';
COMMENT ON COLUMN commerce.refund_lines.order_line_id IS 'The order line refunded.';
COMMENT ON COLUMN commerce.refund_lines.quantity IS 'Units (or seats) of the line refunded; positive, never more than the line has left.';

ALTER TABLE commerce.customers
    ADD COLUMN address_line1   text,
    ADD COLUMN address_line2   text,
    ADD COLUMN city            text,
    ADD COLUMN postal_code     text,
    ADD COLUMN region          text,
    ADD COLUMN country         text,
    ADD COLUMN preferences     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(preferences) = 'object'),
    ADD COLUMN profile_version integer NOT NULL DEFAULT 0 CHECK (profile_version >= 0);
COMMENT ON COLUMN commerce.customers.address_line1 IS 'Postal address: street and number.';
COMMENT ON COLUMN commerce.customers.address_line2 IS 'Postal address: flat, building or care of; may be null.';
COMMENT ON COLUMN commerce.customers.city IS 'Postal address: town or city.';
COMMENT ON COLUMN commerce.customers.postal_code IS 'Postal address: postcode or ZIP code.';
COMMENT ON COLUMN commerce.customers.region IS 'Postal address: state, county or province.';
COMMENT ON COLUMN commerce.customers.country IS 'Postal address: country, as the shopper wrote it or an ISO 3166 code.';
COMMENT ON COLUMN commerce.customers.preferences IS 'Contact preferences the customer set in the storefront: newsletter (boolean), contact_channel (email, phone or post).';
COMMENT ON COLUMN commerce.customers.profile_version IS 'Counts the profile changes made through update_customer; the customer.updated message of each change carries it.';
"""

DOWN = r"""
DROP TABLE commerce.refund_lines, commerce.refunds, commerce.shipment_lines, commerce.shipments,
           commerce.payments;
ALTER TABLE commerce.customers
    DROP COLUMN address_line1, DROP COLUMN address_line2, DROP COLUMN city,
    DROP COLUMN postal_code, DROP COLUMN region, DROP COLUMN country,
    DROP COLUMN preferences, DROP COLUMN profile_version;
ALTER TABLE commerce.orders
    DROP CONSTRAINT never_overpaid, DROP CONSTRAINT never_refunded_more_than_paid,
    DROP COLUMN amount_paid, DROP COLUMN amount_refunded, DROP COLUMN cancelled_at,
    DROP COLUMN cancel_reason, DROP COLUMN cancel_correlation_id;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
