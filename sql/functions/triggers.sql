-- The trigger functions of outbox.messages and outbox.destinations (the triggers themselves are
-- created by the migrations). Like every function of ours they pin search_path to pg_catalog and
-- pg_temp and name their own objects by schema: they run with the rights of whoever inserts, a
-- superuser included, so an object planted in a schema on the caller's path must never be
-- reached from here.

-- The destination is checked once per statement rather than by a foreign key: a foreign key
-- share-locks the destinations row for every message, turning the hottest insert path into a
-- stream of row-lock writes on one tiny table.
--
-- One statement-level trigger does all the work of an insert (a second trigger cost a tenth of
-- a checkout): refuse unknown destinations, fold waiting profile changes, then NOTIFY. The rows
-- are grouped by destination first, so each destination is looked up once, and profile changes
-- are gathered only when the statement inserted some.
CREATE OR REPLACE FUNCTION outbox.notify_new_messages() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    destinations text[];
    unknown text;
    profiles boolean;
BEGIN
    SELECT pg_catalog.array_agg(g.destination),
           pg_catalog.min(g.destination) FILTER (
               WHERE NOT EXISTS (SELECT FROM outbox.destinations d WHERE d.name = g.destination)),
           pg_catalog.bool_or(g.profiles)
      INTO destinations, unknown, profiles
      FROM (SELECT r.destination,
                   pg_catalog.bool_or(r.event_type = 'customer.updated' AND r.ordering_key IS NOT NULL)
                       AS profiles
              FROM new_rows r
             GROUP BY r.destination) g;
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'outbox: unknown destination "%"', unknown
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = pg_catalog.format('Key (destination)=(%s) is not present in table "destinations".', unknown),
                  HINT = 'Register it first: INSERT INTO outbox.destinations (name) VALUES (...).';
    END IF;
    IF profiles THEN
        PERFORM outbox.supersede_waiting_profile_changes(
            (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                        'destination', r.destination, 'ordering_key', r.ordering_key, 'id', r.id))
               FROM new_rows r
              WHERE r.event_type = 'customer.updated' AND r.ordering_key IS NOT NULL));
    END IF;
    -- One notification per statement, naming the destinations that got work; listeners treat
    -- it as a hint and claim by query, so a lost notification only costs one poll interval.
    PERFORM pg_catalog.pg_notify('outbox_messages', pg_catalog.array_to_string(destinations, ','));
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION outbox.notify_new_messages() IS 'Once per INSERT statement: refuse unknown destinations, fold waiting profile changes, then NOTIFY outbox_messages with the destinations that received messages.';

CREATE OR REPLACE FUNCTION outbox.guard_destination_delete() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT FROM outbox.messages m WHERE m.destination = OLD.name) THEN
        RAISE EXCEPTION 'outbox: destination "%" still has messages', OLD.name
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'Cancel or prune its messages first, or set paused_until to stop delivery.';
    END IF;
    RETURN OLD;
END
$$;
COMMENT ON FUNCTION outbox.guard_destination_delete() IS 'Keeps a destination that messages still name from being deleted or renamed.';

-- Profile changes coalesce while they wait. Why here, at publish time, and not at claim time:
-- the claim is the hot path, kept to one simple predicate that its partial indexes serve (and a
-- plan test guards); a merge there would slow every claim of every destination for the sake of
-- one event type. At publish time the work is one indexed look-up of the customer's own waiting
-- messages, done by whoever publishes (update_customer, or outbox.publish from any language),
-- in the same transaction. The newest message takes the merged "changes" of the pending ones
-- it replaces (older values first, newer win), so nothing a superseded message said is lost.
-- Only pending rows are replaced: one in flight is being sent and the newest waits behind it
-- (same ordering key); SKIP LOCKED passes over a row a dispatcher is claiming this instant. It runs
-- with the rights of the inserting statement: messages from a storefront arrive through the
-- publish functions, which run as their owner, and the dispatcher's replay may update messages
-- anyway; nobody else may call it (sql/roles/grants.sql).
CREATE OR REPLACE FUNCTION outbox.supersede_waiting_profile_changes(newest jsonb) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    WITH newest AS (
        SELECT * FROM pg_catalog.jsonb_to_recordset(supersede_waiting_profile_changes.newest)
                      AS n(destination text, ordering_key text, id bigint)
    ), waiting AS (
        SELECT m.id, n.id AS newest_id, m.payload
          FROM outbox.messages m
          JOIN newest n ON m.destination = n.destination AND m.ordering_key = n.ordering_key
         WHERE m.status = 'pending' AND m.event_type = 'customer.updated' AND m.id < n.id
           -- A live message of the key that is not a profile change (an order, whose snapshot
           -- may carry another name) stands between them: the fold stops there.
           AND NOT EXISTS (
                SELECT 1 FROM outbox.messages x
                 WHERE x.destination = m.destination AND x.ordering_key = m.ordering_key
                   AND x.status IN ('pending', 'in_flight', 'retrying')
                   AND x.id > m.id AND x.id < n.id AND x.event_type <> 'customer.updated')
         ORDER BY m.id
           FOR UPDATE OF m SKIP LOCKED
    ), replaced AS (
        UPDATE outbox.messages m
           SET status = 'superseded', updated_at = pg_catalog.now(),
               last_error = 'superseded by message ' || w.newest_id
          FROM waiting w
         WHERE m.id = w.id
        RETURNING w.newest_id, w.id, w.payload
    ), merged AS (
        SELECT newest_id, pg_catalog.jsonb_object_agg(key, value) AS changes
          FROM (SELECT DISTINCT ON (r.newest_id, c.key) r.newest_id, c.key, c.value
                  FROM replaced r,
                       pg_catalog.jsonb_each(coalesce(r.payload -> 'changes', '{}')) c
                 ORDER BY r.newest_id, c.key, r.id DESC) latest
         GROUP BY newest_id
    )
    UPDATE outbox.messages m
       SET payload = pg_catalog.jsonb_set(m.payload, '{changes}',
                                          g.changes || coalesce(m.payload -> 'changes', '{}')),
           updated_at = pg_catalog.now()
      FROM merged g
     WHERE m.id = g.newest_id;
END
$$;
COMMENT ON FUNCTION outbox.supersede_waiting_profile_changes(jsonb) IS 'Pending customer.updated messages of the same customer (destination and ordering key) as the newest ones given become superseded, and the newest take their merged changes. Called by the insert trigger.';
