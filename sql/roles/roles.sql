-- Optional roles (applied by `outbox migrate --with-roles`): least privilege for each user of
-- the outbox. They are NOLOGIN group roles; grant them to your login roles, for example
--   CREATE ROLE shop LOGIN PASSWORD '...' IN ROLE outbox_storefront;
-- Re-running this file is safe.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'outbox_storefront') THEN
        CREATE ROLE outbox_storefront NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'outbox_dispatcher') THEN
        CREATE ROLE outbox_dispatcher NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'outbox_readonly') THEN
        CREATE ROLE outbox_readonly NOLOGIN;
    END IF;
END
$$;
COMMENT ON ROLE outbox_storefront IS 'The storefront: places orders and publishes messages, nothing else.';
COMMENT ON ROLE outbox_dispatcher IS 'The dispatcher daemon: claims, records and maintains the outbox; pulls the catalog.';
COMMENT ON ROLE outbox_readonly IS 'Dashboards and DBAs who only look: the views and tables, read-only.';

-- The storefront writes orders and their life after checkout and publishes; it may not touch
-- delivery state, the catalog's prices or a session's capacity (those come from Salesforce and
-- the catalog pull), and it writes messages only through outbox.publish / publish_batch.
GRANT USAGE ON SCHEMA commerce, outbox TO outbox_storefront;
GRANT SELECT ON ALL TABLES IN SCHEMA commerce TO outbox_storefront;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA commerce FROM outbox_storefront;
GRANT INSERT, UPDATE ON commerce.customers, commerce.orders TO outbox_storefront;
GRANT INSERT ON commerce.order_lines, commerce.payments, commerce.shipments,
                commerce.shipment_lines, commerce.refunds, commerce.refund_lines
      TO outbox_storefront;
-- Checkout takes stock and seats (and records the units sold here in the stock ledger); a
-- cancellation or refund gives them back.
GRANT UPDATE (stock, updated_at) ON commerce.products TO outbox_storefront;
GRANT INSERT ON commerce.stock_movements TO outbox_storefront;
GRANT UPDATE (seats_taken) ON commerce.event_sessions TO outbox_storefront;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA outbox FROM outbox_storefront;
GRANT SELECT ON outbox.destinations TO outbox_storefront;
-- A retried checkout or cancellation finds the ids of the messages it published.
GRANT SELECT (id, destination, idempotency_key, correlation_id) ON outbox.messages TO outbox_storefront;

-- The dispatcher owns delivery and maintenance, and writes the operator audit through the
-- operator functions; it can neither edit nor delete that audit.
GRANT USAGE ON SCHEMA commerce, outbox TO outbox_dispatcher;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA outbox TO outbox_dispatcher;
REVOKE UPDATE, DELETE, TRUNCATE ON outbox.operator_actions FROM outbox_dispatcher;
GRANT SELECT ON ALL TABLES IN SCHEMA commerce TO outbox_dispatcher;
GRANT INSERT, UPDATE ON commerce.products TO outbox_dispatcher;
-- Changes read back from Salesforce (pull_changes): the customer columns Salesforce may master,
-- and the organisations. The row locks a page takes need UPDATE too.
GRANT UPDATE (first_name, last_name, email_opt_out, phone, address_line1, address_line2, city,
              postal_code, region, country, updated_at) ON commerce.customers TO outbox_dispatcher;
GRANT INSERT, UPDATE ON commerce.organisations TO outbox_dispatcher;
GRANT DELETE ON commerce.stock_movements TO outbox_dispatcher;  -- retention of reflected movements

-- Read-only: every table and view.
GRANT USAGE ON SCHEMA commerce, outbox TO outbox_readonly;
GRANT SELECT ON ALL TABLES IN SCHEMA commerce, outbox TO outbox_readonly;

-- Functions: sql/roles/grants.sql, applied after this file and on every migrate.
