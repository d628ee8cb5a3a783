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

-- The storefront writes its orders and publishes; it may not touch delivery state.
GRANT USAGE ON SCHEMA commerce, outbox TO outbox_storefront;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA commerce TO outbox_storefront;
GRANT SELECT ON outbox.destinations TO outbox_storefront;
GRANT SELECT (id, destination, idempotency_key, correlation_id) ON outbox.messages TO outbox_storefront;
GRANT INSERT (destination, event_type, payload, ordering_key, idempotency_key, correlation_id)
    ON outbox.messages TO outbox_storefront;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA outbox FROM PUBLIC;
GRANT EXECUTE ON FUNCTION outbox.publish(text, text, jsonb, text, text, uuid) TO outbox_storefront;
GRANT EXECUTE ON FUNCTION outbox.notify_new_messages() TO outbox_storefront, outbox_dispatcher;
-- Called by the insert trigger; it runs with its owner's rights to mark older profile changes
-- superseded, which the storefront itself may not do.
GRANT EXECUTE ON FUNCTION outbox.supersede_waiting_profile_changes(jsonb)
    TO outbox_storefront, outbox_dispatcher;

-- The dispatcher owns delivery and maintenance.
GRANT USAGE ON SCHEMA commerce, outbox TO outbox_dispatcher;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA outbox TO outbox_dispatcher;
GRANT SELECT ON ALL TABLES IN SCHEMA commerce TO outbox_dispatcher;
GRANT INSERT, UPDATE ON commerce.products TO outbox_dispatcher;
GRANT DELETE ON commerce.stock_movements TO outbox_dispatcher;  -- retention of reflected movements
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA outbox TO outbox_dispatcher;

-- Read-only: every table and view, no function that changes anything.
GRANT USAGE ON SCHEMA commerce, outbox TO outbox_readonly;
GRANT SELECT ON ALL TABLES IN SCHEMA commerce, outbox TO outbox_readonly;
GRANT EXECUTE ON FUNCTION outbox.message_history(bigint) TO outbox_readonly;
GRANT EXECUTE ON FUNCTION outbox.actor() TO outbox_readonly;
