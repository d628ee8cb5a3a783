"""The storefront's commerce schema and the outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from alembic import op

from outbox.migrate import function_sql

revision = "0001"
down_revision = None
branch_labels = ("outbox",)  # every later revision inherits it
depends_on = None

COMMERCE = r"""
CREATE SCHEMA commerce;
COMMENT ON SCHEMA commerce IS 'The storefront''s own data: customers, catalog, event sessions, orders. The origin of every outbox message.';

CREATE TYPE commerce.purchase_type AS ENUM ('physical', 'digital_license', 'paid_event', 'free_event');
COMMENT ON TYPE commerce.purchase_type IS 'What a product is, which decides what must happen after checkout.';

CREATE TYPE commerce.order_status AS ENUM
    ('placed', 'paid', 'partially_shipped', 'shipped', 'refunded', 'partially_refunded', 'cancelled');
COMMENT ON TYPE commerce.order_status IS 'Where an order stands in its life after checkout.';

CREATE TABLE commerce.customers (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email             text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+$'),
    first_name        text NOT NULL DEFAULT '',
    last_name         text NOT NULL CHECK (last_name <> ''),
    organisation      text,
    locale            text NOT NULL DEFAULT 'en_US',
    marketing_consent boolean NOT NULL DEFAULT false,
    is_guest          boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX customers_email_key ON commerce.customers (lower(email));
COMMENT ON TABLE commerce.customers IS 'People who buy or register. One row per e-mail address, compared case-insensitively.';
COMMENT ON COLUMN commerce.customers.id IS 'Storefront customer key; messages call it c-<id>.';
COMMENT ON COLUMN commerce.customers.email IS 'E-mail address; unique regardless of case (index customers_email_key).';
COMMENT ON COLUMN commerce.customers.first_name IS 'Given name; may be empty.';
COMMENT ON COLUMN commerce.customers.last_name IS 'Family name; required, as Salesforce requires Contact.LastName.';
COMMENT ON COLUMN commerce.customers.organisation IS 'Organisation the customer buys for (a clinic, a school); null for a private buyer.';
COMMENT ON COLUMN commerce.customers.locale IS 'Language and region, such as en_US; drives locale-specific value maps.';
COMMENT ON COLUMN commerce.customers.marketing_consent IS 'True when the customer agreed to marketing e-mail.';
COMMENT ON COLUMN commerce.customers.is_guest IS 'True while the customer has only checked out as a guest, without an account.';
COMMENT ON COLUMN commerce.customers.created_at IS 'When the customer first appeared.';
COMMENT ON COLUMN commerce.customers.updated_at IS 'When the profile last changed.';

CREATE TABLE commerce.products (
    id                            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku                           text NOT NULL UNIQUE CHECK (sku <> ''),
    name                          text NOT NULL,
    purchase_type                 commerce.purchase_type NOT NULL,
    price                         numeric(12, 2) NOT NULL CHECK (price >= 0),
    currency                      char(3) NOT NULL DEFAULT 'USD',
    stock                         integer CHECK (stock >= 0),
    safety_stock                  integer NOT NULL DEFAULT 0 CHECK (safety_stock >= 0),
    thinkific_course_id           bigint,
    license_term_days             integer CHECK (license_term_days > 0),
    salesforce_product2_id        text,
    salesforce_pricebook_entry_id text,
    active                        boolean NOT NULL DEFAULT true,
    updated_at                    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT physical_has_stock CHECK (purchase_type <> 'physical' OR stock IS NOT NULL),
    CONSTRAINT license_has_course CHECK (purchase_type <> 'digital_license' OR thinkific_course_id IS NOT NULL),
    CONSTRAINT free_event_is_free CHECK (purchase_type <> 'free_event' OR price = 0)
);
COMMENT ON TABLE commerce.products IS 'The catalog. Stock and prices originate in Salesforce and are pulled here on a schedule.';
COMMENT ON COLUMN commerce.products.id IS 'Storefront product key.';
COMMENT ON COLUMN commerce.products.sku IS 'Stock keeping unit; the key shared with Salesforce (Product2.StockKeepingUnit).';
COMMENT ON COLUMN commerce.products.name IS 'Display name.';
COMMENT ON COLUMN commerce.products.purchase_type IS 'physical, digital_license, paid_event or free_event.';
COMMENT ON COLUMN commerce.products.price IS 'Unit price in currency, replicated from the Salesforce PricebookEntry.';
COMMENT ON COLUMN commerce.products.currency IS 'ISO 4217 currency of price.';
COMMENT ON COLUMN commerce.products.stock IS 'Units on hand for physical goods (replicated from Salesforce, decremented at checkout); null for other types.';
COMMENT ON COLUMN commerce.products.safety_stock IS 'Units held back from sale so that the storefront does not oversell while the next stock pull is pending.';
COMMENT ON COLUMN commerce.products.thinkific_course_id IS 'Thinkific course unlocked by a digital license.';
COMMENT ON COLUMN commerce.products.license_term_days IS 'Days a digital license lasts; null for no expiry.';
COMMENT ON COLUMN commerce.products.salesforce_product2_id IS 'Salesforce Product2 Id.';
COMMENT ON COLUMN commerce.products.salesforce_pricebook_entry_id IS 'Salesforce PricebookEntry Id used for order lines.';
COMMENT ON COLUMN commerce.products.active IS 'False when the product can no longer be sold.';
COMMENT ON COLUMN commerce.products.updated_at IS 'When the row last changed (checkout or catalog pull).';

CREATE TABLE commerce.event_sessions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id  bigint NOT NULL REFERENCES commerce.products (id),
    name        text NOT NULL,
    starts_at   timestamptz NOT NULL,
    capacity    integer NOT NULL CHECK (capacity > 0),
    seats_taken integer NOT NULL DEFAULT 0 CHECK (seats_taken >= 0),
    CONSTRAINT never_oversold CHECK (seats_taken <= capacity)
);
CREATE INDEX event_sessions_product_idx ON commerce.event_sessions (product_id);
COMMENT ON TABLE commerce.event_sessions IS 'Dated sessions of event products (workshops, webinars) with their seat capacity.';
COMMENT ON COLUMN commerce.event_sessions.id IS 'Storefront session key.';
COMMENT ON COLUMN commerce.event_sessions.product_id IS 'The paid_event or free_event product this session belongs to.';
COMMENT ON COLUMN commerce.event_sessions.name IS 'Display name, such as the place and date.';
COMMENT ON COLUMN commerce.event_sessions.starts_at IS 'When the session starts.';
COMMENT ON COLUMN commerce.event_sessions.capacity IS 'Seats available in total.';
COMMENT ON COLUMN commerce.event_sessions.seats_taken IS 'Seats allocated at checkout; the constraint never_oversold keeps it at or below capacity.';

CREATE TABLE commerce.orders (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_number   text NOT NULL UNIQUE CHECK (order_number <> ''),
    customer_id    bigint NOT NULL REFERENCES commerce.customers (id),
    status         commerce.order_status NOT NULL DEFAULT 'placed',
    currency       char(3) NOT NULL,
    subtotal       numeric(12, 2) NOT NULL CHECK (subtotal >= 0),
    tax            numeric(12, 2) NOT NULL DEFAULT 0 CHECK (tax >= 0),
    total          numeric(12, 2) NOT NULL CHECK (total >= 0),
    payment_method text,
    placed_at      timestamptz NOT NULL DEFAULT now(),
    correlation_id uuid NOT NULL DEFAULT gen_random_uuid(),
    CONSTRAINT total_adds_up CHECK (total = subtotal + tax)
);
CREATE INDEX orders_customer_idx ON commerce.orders (customer_id);
CREATE INDEX orders_placed_at_idx ON commerce.orders (placed_at);
COMMENT ON TABLE commerce.orders IS 'Orders placed at checkout. Each one is published to the outbox in the same transaction.';
COMMENT ON COLUMN commerce.orders.id IS 'Storefront order key.';
COMMENT ON COLUMN commerce.orders.order_number IS 'The number the customer sees; the external ID of the Salesforce Order.';
COMMENT ON COLUMN commerce.orders.customer_id IS 'Who bought.';
COMMENT ON COLUMN commerce.orders.status IS 'placed, paid, partially_shipped, shipped, refunded, partially_refunded or cancelled.';
COMMENT ON COLUMN commerce.orders.currency IS 'ISO 4217 currency of every amount on the order.';
COMMENT ON COLUMN commerce.orders.subtotal IS 'Sum of quantity times unit price over the lines, before tax.';
COMMENT ON COLUMN commerce.orders.tax IS 'Sum of the lines'' tax.';
COMMENT ON COLUMN commerce.orders.total IS 'subtotal + tax; zero for a free-event-only order.';
COMMENT ON COLUMN commerce.orders.payment_method IS 'card, invoice, paypal or bank_transfer; null for a free order.';
COMMENT ON COLUMN commerce.orders.placed_at IS 'When checkout committed.';
COMMENT ON COLUMN commerce.orders.correlation_id IS 'Correlation id of the checkout; every message the order published carries it.';

CREATE TABLE commerce.order_lines (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id         bigint NOT NULL REFERENCES commerce.orders (id),
    line_number      integer NOT NULL CHECK (line_number > 0),
    product_id       bigint NOT NULL REFERENCES commerce.products (id),
    quantity         integer NOT NULL CHECK (quantity > 0),
    unit_price       numeric(12, 2) NOT NULL CHECK (unit_price >= 0),
    tax              numeric(12, 2) NOT NULL DEFAULT 0 CHECK (tax >= 0),
    event_session_id bigint REFERENCES commerce.event_sessions (id),
    UNIQUE (order_id, line_number)
);
CREATE INDEX order_lines_product_idx ON commerce.order_lines (product_id);
COMMENT ON TABLE commerce.order_lines IS 'The lines of an order: one product, a quantity and the price paid.';
COMMENT ON COLUMN commerce.order_lines.id IS 'Storefront line key.';
COMMENT ON COLUMN commerce.order_lines.order_id IS 'The order the line belongs to.';
COMMENT ON COLUMN commerce.order_lines.line_number IS 'Position on the order, from 1; <order_number>-<line_number> is the line''s external ID.';
COMMENT ON COLUMN commerce.order_lines.product_id IS 'What was bought.';
COMMENT ON COLUMN commerce.order_lines.quantity IS 'Units, seats or license seats bought; always positive.';
COMMENT ON COLUMN commerce.order_lines.unit_price IS 'Price of one unit at checkout.';
COMMENT ON COLUMN commerce.order_lines.tax IS 'Tax on the whole line.';
COMMENT ON COLUMN commerce.order_lines.event_session_id IS 'For event products, the session whose seats the line took.';
"""

OUTBOX = r"""
CREATE SCHEMA outbox;
COMMENT ON SCHEMA outbox IS 'The transactional outbox: messages published with the storefront''s writes and the record of every delivery attempt.';

CREATE TYPE outbox.message_status AS ENUM
    ('pending', 'in_flight', 'retrying', 'delivered', 'dead', 'superseded', 'cancelled');
COMMENT ON TYPE outbox.message_status IS
    'pending: waiting for a first try; in_flight: claimed under a lease; retrying: failed, next try at next_attempt_at; '
    'delivered; dead: failed for good, needs an operator; superseded: a newer message made it moot; cancelled: by an operator.';

CREATE TYPE outbox.attempt_outcome AS ENUM ('delivered', 'retry', 'dead', 'rate_limited', 'released');
COMMENT ON TYPE outbox.attempt_outcome IS
    'delivered; retry: a retryable failure; dead: a permanent failure; rate_limited: waited out a limit (not counted as a failure); released: handed back unstarted at shutdown.';

CREATE TABLE outbox.destinations (
    name         text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]*$'),
    description  text NOT NULL DEFAULT '',
    paused_until timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE outbox.destinations IS 'Systems messages can be delivered to. publish() refuses any other name.';
COMMENT ON COLUMN outbox.destinations.name IS 'Destination name used in messages (salesforce, thinkific, webhook, null).';
COMMENT ON COLUMN outbox.destinations.description IS 'What the destination is.';
COMMENT ON COLUMN outbox.destinations.paused_until IS 'While in the future, no dispatcher claims this destination''s messages (a rate-limit reset or an operator''s pause).';
COMMENT ON COLUMN outbox.destinations.created_at IS 'When the destination was registered.';
INSERT INTO outbox.destinations (name, description) VALUES
    ('salesforce', 'Salesforce, the system of record: accounts, contacts, orders, registrations.'),
    ('thinkific', 'Thinkific, the LMS: users and course enrollments.'),
    ('webhook', 'Any HTTP endpoint that takes a JSON POST with an Idempotency-Key header.'),
    ('null', 'Acknowledges everything at once; for measuring the dispatcher itself.');

CREATE TABLE outbox.messages (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at            timestamptz NOT NULL DEFAULT now(),
    destination           text NOT NULL,
    event_type            text NOT NULL CHECK (event_type <> ''),
    ordering_key          text,
    idempotency_key       text NOT NULL DEFAULT gen_random_uuid()::text,
    correlation_id        uuid,
    payload               jsonb NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
    status                outbox.message_status NOT NULL DEFAULT 'pending',
    attempts              integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at       timestamptz NOT NULL DEFAULT now(),
    lease_owner           text,
    lease_expires_at      timestamptz,
    last_error_code       text,
    last_error            text,
    delivered_at          timestamptz,
    destination_record_id text,
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT messages_idempotency_key UNIQUE (destination, idempotency_key),
    CONSTRAINT in_flight_has_lease CHECK (status <> 'in_flight' OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL))
);
-- The claim path reads only live rows, so its indexes hold only live rows: delivered history
-- leaves them and the claim stays as fast with a year of history as with none.
CREATE INDEX messages_claimable_idx ON outbox.messages (destination, next_attempt_at, id)
    WHERE status IN ('pending', 'retrying');
CREATE INDEX messages_lease_idx ON outbox.messages (destination, lease_expires_at)
    WHERE status = 'in_flight';
CREATE INDEX messages_live_key_idx ON outbox.messages (destination, ordering_key, id)
    WHERE status IN ('pending', 'in_flight', 'retrying') AND ordering_key IS NOT NULL;
CREATE INDEX messages_created_at_idx ON outbox.messages USING brin (created_at);
CREATE INDEX messages_correlation_idx ON outbox.messages (correlation_id) WHERE correlation_id IS NOT NULL;
ALTER TABLE outbox.messages SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_analyze_scale_factor = 0.02,
    fillfactor = 90
);
COMMENT ON TABLE outbox.messages IS 'One row per (event, destination), written in the storefront''s transaction and delivered by the dispatcher.';
COMMENT ON COLUMN outbox.messages.id IS 'Commit-ordered message id; within an ordering key, lower ids are delivered first.';
COMMENT ON COLUMN outbox.messages.created_at IS 'When the storefront published the message.';
COMMENT ON COLUMN outbox.messages.destination IS 'Where the message goes (outbox.destinations.name).';
COMMENT ON COLUMN outbox.messages.event_type IS 'What happened, such as order.placed or enrollment.requested.';
COMMENT ON COLUMN outbox.messages.ordering_key IS 'Messages sharing (destination, ordering_key) are delivered one at a time in id order; null means unordered.';
COMMENT ON COLUMN outbox.messages.idempotency_key IS 'Unique per destination: publishing the same key twice returns the first message and adds nothing.';
COMMENT ON COLUMN outbox.messages.correlation_id IS 'Ties the messages of one business action together in logs and history.';
COMMENT ON COLUMN outbox.messages.payload IS 'The event as a JSON object; self-contained, the dispatcher never reads commerce tables.';
COMMENT ON COLUMN outbox.messages.status IS 'pending, in_flight, retrying, delivered, dead, superseded or cancelled.';
COMMENT ON COLUMN outbox.messages.attempts IS 'Delivery attempts started so far.';
COMMENT ON COLUMN outbox.messages.next_attempt_at IS 'Earliest time the message may be claimed (backoff after a failure).';
COMMENT ON COLUMN outbox.messages.lease_owner IS 'Worker id holding the message while in_flight; unique per process start.';
COMMENT ON COLUMN outbox.messages.lease_expires_at IS 'When an in_flight claim lapses and the message may be claimed again.';
COMMENT ON COLUMN outbox.messages.last_error_code IS 'The destination''s own error code from the latest failed attempt (such as REQUIRED_FIELD_MISSING).';
COMMENT ON COLUMN outbox.messages.last_error IS 'The latest failure''s message, truncated and free of secrets.';
COMMENT ON COLUMN outbox.messages.delivered_at IS 'When the destination accepted the message.';
COMMENT ON COLUMN outbox.messages.destination_record_id IS 'Id of the record the destination wrote (a Salesforce Id, a Thinkific enrollment id).';
COMMENT ON COLUMN outbox.messages.updated_at IS 'When the row last changed.';

CREATE TABLE outbox.attempts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id       bigint NOT NULL REFERENCES outbox.messages (id) ON DELETE CASCADE,
    number           integer NOT NULL CHECK (number > 0),
    worker           text NOT NULL,
    started_at       timestamptz NOT NULL,
    finished_at      timestamptz NOT NULL,
    outcome          outbox.attempt_outcome NOT NULL,
    http_status      integer,
    error_code       text,
    error_message    text,
    duration_ms      double precision NOT NULL CHECK (duration_ms >= 0),
    mapping_version  text
);
CREATE INDEX attempts_message_idx ON outbox.attempts (message_id, number);
CREATE INDEX attempts_finished_at_idx ON outbox.attempts USING brin (finished_at);
COMMENT ON TABLE outbox.attempts IS 'One row per delivery try of a message, whatever its outcome.';
COMMENT ON COLUMN outbox.attempts.id IS 'Attempt key.';
COMMENT ON COLUMN outbox.attempts.message_id IS 'The message tried.';
COMMENT ON COLUMN outbox.attempts.number IS 'Which try of the message this was, from 1.';
COMMENT ON COLUMN outbox.attempts.worker IS 'Worker id (host, pid and start) that made the attempt.';
COMMENT ON COLUMN outbox.attempts.started_at IS 'When the delivery call started.';
COMMENT ON COLUMN outbox.attempts.finished_at IS 'When the outcome was known.';
COMMENT ON COLUMN outbox.attempts.outcome IS 'delivered, retry, dead, rate_limited or released.';
COMMENT ON COLUMN outbox.attempts.http_status IS 'HTTP status the destination answered, if it answered.';
COMMENT ON COLUMN outbox.attempts.error_code IS 'The destination''s own error code (Salesforce errorCode/statusCode, Thinkific error key).';
COMMENT ON COLUMN outbox.attempts.error_message IS 'Error text, truncated and free of secrets.';
COMMENT ON COLUMN outbox.attempts.duration_ms IS 'Wall time of the attempt in milliseconds.';
COMMENT ON COLUMN outbox.attempts.mapping_version IS 'Content hash of the field mapping that produced the write.';

"""

# The trigger functions are replaceable objects: their one body is sql/functions/triggers.sql
# (plpgsql, so a body naming a later revision's objects is only checked when it runs), applied
# here because a trigger needs its function, and again by every migrate after the upgrade.
TRIGGERS = r"""
CREATE TRIGGER destinations_guard BEFORE DELETE OR UPDATE OF name ON outbox.destinations
    FOR EACH ROW EXECUTE FUNCTION outbox.guard_destination_delete();
CREATE TRIGGER messages_notify AFTER INSERT ON outbox.messages
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION outbox.notify_new_messages();
"""


def upgrade() -> None:
    op.execute(COMMERCE)
    op.execute(OUTBOX)
    op.execute(function_sql("triggers.sql"))
    op.execute(TRIGGERS)


def downgrade() -> None:
    op.execute("DROP SCHEMA outbox CASCADE")
    op.execute("DROP SCHEMA commerce CASCADE")
