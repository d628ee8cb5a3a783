-- Who may call which function: applied on every migrate, after the functions, so a function
-- added by an upgrade is never left executable by PUBLIC (PostgreSQL's default for a new
-- function) and the optional roles of roles.sql get exactly their own.
--
-- PUBLIC executes nothing of ours. The storefront calls outbox.publish and outbox.publish_batch,
-- which run as their owner and check every message; everything else (the check itself, the
-- trigger functions, the profile fold, the operator functions) is out of its reach.

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA outbox FROM PUBLIC;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'outbox_storefront') THEN
        REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA outbox FROM outbox_storefront;
        GRANT EXECUTE ON FUNCTION outbox.publish(text, text, jsonb, text, text, uuid),
                                  outbox.publish_batch(jsonb)
              TO outbox_storefront;
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'outbox_dispatcher') THEN
        GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA outbox TO outbox_dispatcher;
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'outbox_readonly') THEN
        REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA outbox FROM outbox_readonly;
        GRANT EXECUTE ON FUNCTION outbox.message_history(bigint), outbox.actor() TO outbox_readonly;
    END IF;
END
$$;
