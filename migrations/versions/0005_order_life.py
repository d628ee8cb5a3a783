"""An order's life after checkout: payments, parcels, refunds, cancellation, profile changes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
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

-- Profile changes coalesce while they wait. Why here, at publish time, and not at claim time:
-- the claim is the hot path, kept to one simple predicate that its partial indexes serve (and a
-- plan test guards); a merge there would slow every claim of every destination for the sake of
-- one event type. At publish time the work is one indexed look-up of the customer's own waiting
-- messages, done by whoever publishes (update_customer, or outbox.publish from any language),
-- in the same transaction. The newest message takes the merged "changes" of the pending ones
-- it replaces (older values first, newer win), so nothing a superseded message said is lost.
-- Only pending rows are replaced: one in flight is being sent and the newest waits behind it
-- (same ordering key); SKIP LOCKED passes over a row a dispatcher is claiming this instant.
-- SECURITY DEFINER because the storefront's role may insert messages but never change the
-- status of one (sql/roles/roles.sql).
CREATE FUNCTION outbox.supersede_waiting_profile_changes(newest jsonb) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, outbox AS $$
BEGIN
    WITH newest AS (
        SELECT * FROM jsonb_to_recordset(newest) AS n(destination text, ordering_key text, id bigint)
    ), waiting AS (
        SELECT m.id, n.id AS newest_id, m.payload
          FROM outbox.messages m
          JOIN newest n ON m.destination = n.destination AND m.ordering_key = n.ordering_key
         WHERE m.status = 'pending' AND m.event_type = 'customer.updated' AND m.id < n.id
         ORDER BY m.id
           FOR UPDATE OF m SKIP LOCKED
    ), replaced AS (
        UPDATE outbox.messages m
           SET status = 'superseded', updated_at = now(),
               last_error = 'superseded by message ' || w.newest_id
          FROM waiting w
         WHERE m.id = w.id
        RETURNING w.newest_id, w.id, w.payload
    ), merged AS (
        SELECT newest_id, jsonb_object_agg(key, value) AS changes
          FROM (SELECT DISTINCT ON (r.newest_id, c.key) r.newest_id, c.key, c.value
                  FROM replaced r, jsonb_each(coalesce(r.payload -> 'changes', '{}')) c
                 ORDER BY r.newest_id, c.key, r.id DESC) latest
         GROUP BY newest_id
    )
    UPDATE outbox.messages m
       SET payload = jsonb_set(m.payload, '{changes}',
                               g.changes || coalesce(m.payload -> 'changes', '{}')),
           updated_at = now()
      FROM merged g
     WHERE m.id = g.newest_id;
END
$$;
COMMENT ON FUNCTION outbox.supersede_waiting_profile_changes(jsonb) IS 'Pending customer.updated messages of the same customer (destination and ordering key) as the newest ones given become superseded, and the newest take their merged changes. Called by the insert trigger.';

-- One statement-level trigger does all the work of an insert (a second trigger cost a tenth of
-- a checkout): refuse unknown destinations, fold waiting profile changes, then NOTIFY.
CREATE OR REPLACE FUNCTION outbox.notify_new_messages() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    destinations text;
    unknown text;
    profiles jsonb;
BEGIN
    SELECT string_agg(DISTINCT r.destination, ','),
           min(r.destination) FILTER (WHERE d.name IS NULL),
           jsonb_agg(jsonb_build_object('destination', r.destination,
                                        'ordering_key', r.ordering_key, 'id', r.id))
               FILTER (WHERE r.event_type = 'customer.updated' AND r.ordering_key IS NOT NULL)
      INTO destinations, unknown, profiles
      FROM new_rows r LEFT JOIN outbox.destinations d ON d.name = r.destination;
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'outbox: unknown destination "%"', unknown
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('Key (destination)=(%s) is not present in table "destinations".', unknown),
                  HINT = 'Register it first: INSERT INTO outbox.destinations (name) VALUES (...).';
    END IF;
    IF profiles IS NOT NULL THEN
        PERFORM outbox.supersede_waiting_profile_changes(profiles);
    END IF;
    -- One notification per statement, naming the destinations that got work; listeners treat
    -- it as a hint and claim by query, so a lost notification only costs one poll interval.
    PERFORM pg_notify('outbox_messages', destinations);
    RETURN NULL;
END
$$;
"""

DOWN = r"""
CREATE OR REPLACE FUNCTION outbox.notify_new_messages() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    destinations text;
    unknown text;
BEGIN
    SELECT string_agg(DISTINCT r.destination, ','),
           min(r.destination) FILTER (WHERE d.name IS NULL)
      INTO destinations, unknown
      FROM new_rows r LEFT JOIN outbox.destinations d ON d.name = r.destination;
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'outbox: unknown destination "%"', unknown
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('Key (destination)=(%s) is not present in table "destinations".', unknown),
                  HINT = 'Register it first: INSERT INTO outbox.destinations (name) VALUES (...).';
    END IF;
    PERFORM pg_notify('outbox_messages', destinations);
    RETURN NULL;
END
$$;
DROP FUNCTION outbox.supersede_waiting_profile_changes(jsonb);
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
