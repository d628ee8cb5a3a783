-- The publish contract: the storefront's only way into the outbox, from any language.
--
-- Both entry points run with their owner's rights (SECURITY DEFINER): the storefront's role may
-- call them but may not insert into outbox.messages itself, so every message passes the same
-- checks. Each function pins search_path to pg_catalog and pg_temp and names its own objects by
-- schema, so nothing a caller creates elsewhere can stand in for what it calls.
--
-- The limits (README, "The publish contract"; outbox/limits.py holds the same numbers):
--   destination      a registered name: a-z, 0-9 and _, at most 63 characters
--   event_type       1-100 ASCII characters, A-Z a-z 0-9 . _ : - and starting with a letter,
--                    so it can travel in an HTTP header and a metric label as it is
--   ordering_key,    1-200 printable characters: no control characters and no invisible
--   idempotency_key  formatting or direction marks (such as U+202E)
--   payload          a JSON object, nested at most 32 levels deep, at most 1 MiB as JSON text

-- outbox.check_message: raise invalid_parameter_value, with a hint, for the first rule a
-- message breaks. `item_number` is the message's place in a batch (null for a single publish).
-- Values are never echoed whole: a hostile value would land in logs; its length or the code
-- point of its first bad character says enough.
CREATE OR REPLACE FUNCTION outbox.check_message(
    item_number     integer,
    destination     text,
    event_type      text,
    payload         jsonb,
    ordering_key    text,
    idempotency_key text
) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    what text := CASE WHEN check_message.item_number IS NULL THEN 'outbox.publish'
                      ELSE pg_catalog.format('outbox.publish_batch: message %s',
                                             check_message.item_number) END;
    field text;
    value text;
    bad text;
BEGIN
    IF check_message.destination IS NULL
       OR pg_catalog.length(check_message.destination) > 63
       OR check_message.destination !~ '^[a-z][a-z0-9_]*$' THEN
        RAISE EXCEPTION '%: destination is not a destination name (% characters)',
                what, coalesce(pg_catalog.length(check_message.destination), 0)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass a name from outbox.destinations: lower-case letters, digits and _, at most 63 characters.';
    END IF;
    IF NOT EXISTS (SELECT FROM outbox.destinations d WHERE d.name = check_message.destination) THEN
        RAISE EXCEPTION '%: unknown destination "%"', what, check_message.destination
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use one of: ' || coalesce((SELECT pg_catalog.string_agg(d.name, ', ' ORDER BY d.name)
                                                       FROM outbox.destinations d), 'none yet')
                         || '; or register it in outbox.destinations first.';
    END IF;

    IF check_message.event_type IS NULL OR pg_catalog.btrim(check_message.event_type) = '' THEN
        RAISE EXCEPTION '%: event_type must not be empty', what
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass what happened, such as ''order.placed''.';
    END IF;
    IF pg_catalog.length(check_message.event_type) > 100
       OR check_message.event_type !~ '^[A-Za-z][A-Za-z0-9._:-]*$' THEN
        RAISE EXCEPTION '%: event_type is not a plain name (% characters)',
                what, pg_catalog.length(check_message.event_type)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use at most 100 ASCII letters, digits and . _ : -, starting with a letter, such as ''order.placed''.';
    END IF;

    FOREACH field IN ARRAY ARRAY['ordering_key', 'idempotency_key'] LOOP
        value := CASE field WHEN 'ordering_key' THEN check_message.ordering_key
                            ELSE check_message.idempotency_key END;
        CONTINUE WHEN value IS NULL;
        IF pg_catalog.btrim(value) = '' OR pg_catalog.length(value) > 200 THEN
            RAISE EXCEPTION '%: % must be 1 to 200 characters, got %', what, field, pg_catalog.length(value)
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Build keys from your own identifiers, such as ''order:SO-1001''; leave the key out (null) rather than empty.';
        END IF;
        bad := pg_catalog.substring(value,
            '[\u0001-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]');
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION '%: % holds the character U+% at position %', what, field,
                    pg_catalog.upper(pg_catalog.lpad(pg_catalog.to_hex(pg_catalog.ascii(bad)), 4, '0')),
                    pg_catalog.strpos(value, bad)
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Keys take printable characters only: no control characters and no invisible formatting or direction marks.';
        END IF;
    END LOOP;

    IF check_message.payload IS NULL OR pg_catalog.jsonb_typeof(check_message.payload) <> 'object' THEN
        RAISE EXCEPTION '%: payload must be a JSON object, got %',
                what, coalesce(pg_catalog.jsonb_typeof(check_message.payload), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Wrap the value in an object, such as jsonb_build_object(''order'', ...).';
    END IF;
    -- A container at level 32 (the root is level 0) is the 33rd nested one.
    IF pg_catalog.jsonb_path_exists(check_message.payload,
            'strict $.**{32} ? (@.type() == "object" || @.type() == "array")') THEN
        RAISE EXCEPTION '%: payload is nested more than 32 levels deep', what
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Flatten the payload: events describe a business fact, at most 32 objects or arrays deep.';
    END IF;
    IF pg_catalog.octet_length(check_message.payload::text) > 1048576 THEN
        RAISE EXCEPTION '%: payload is % bytes of JSON, more than 1 MiB',
                what, pg_catalog.octet_length(check_message.payload::text)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Send what the destination needs, with ids for the rest; at most 1048576 bytes.';
    END IF;
END
$$;
COMMENT ON FUNCTION outbox.check_message(integer, text, text, jsonb, text, text) IS
    'Raise invalid_parameter_value, with a hint, when a message breaks the publish contract (destination, event type, keys, payload shape, depth and size). Used by outbox.publish and outbox.publish_batch.';

CREATE OR REPLACE FUNCTION outbox.publish(
    destination     text,
    event_type      text,
    payload         jsonb,
    ordering_key    text DEFAULT NULL,
    idempotency_key text DEFAULT NULL,
    correlation_id  uuid DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    message_id bigint;
    key text := coalesce(publish.idempotency_key, pg_catalog.gen_random_uuid()::text);
BEGIN
    PERFORM outbox.check_message(NULL, publish.destination, publish.event_type, publish.payload,
                                 publish.ordering_key, publish.idempotency_key);

    INSERT INTO outbox.messages AS m
           (destination, event_type, payload, ordering_key, idempotency_key, correlation_id)
    VALUES (publish.destination, publish.event_type, publish.payload, publish.ordering_key,
            key, publish.correlation_id)
    ON CONFLICT ON CONSTRAINT messages_idempotency_key DO NOTHING
    RETURNING m.id INTO message_id;

    IF message_id IS NULL THEN
        SELECT m.id INTO message_id
          FROM outbox.messages m
         WHERE m.destination = publish.destination
           AND m.idempotency_key = key;
    END IF;
    RETURN message_id;
END
$$;
COMMENT ON FUNCTION outbox.publish(text, text, jsonb, text, text, uuid) IS
    'Publish one message in the caller''s transaction and return its id. A repeated (destination, idempotency_key) returns the existing id and inserts nothing. Raises invalid_parameter_value, with a hint, for a message outside the publish contract (see outbox.check_message).';

-- outbox.publish_batch: several messages in one statement (one NOTIFY), as the Python API sends
-- them: a JSON array of objects with the keys destination, event_type, payload and optionally
-- ordering_key, idempotency_key (a random one when absent) and correlation_id. Returns
-- (id, destination, idempotency_key) for every distinct key given; a key published before
-- returns the existing message.
--
-- The checkout calls it on every order, so the common case costs one query for the checks, one
-- insert and nothing else: the rules are tested together over the whole batch (the same rules
-- as outbox.check_message, which then names the broken one for the first message that fails),
-- and the ids come back from the insert itself; only keys that were published before are looked
-- up.
CREATE OR REPLACE FUNCTION outbox.publish_batch(messages jsonb)
RETURNS TABLE (id bigint, destination text, idempotency_key text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    items jsonb := publish_batch.messages;
    bad record;
    ids bigint[];
    dests text[];
    keys text[];
BEGIN
    IF items IS NULL OR pg_catalog.jsonb_typeof(items) <> 'array' THEN
        RAISE EXCEPTION 'outbox.publish_batch: messages must be a JSON array, got %',
                coalesce(pg_catalog.jsonb_typeof(items), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass [{"destination": ..., "event_type": ..., "payload": {...}}, ...].';
    END IF;
    SELECT e.n, e.item INTO bad
      FROM pg_catalog.jsonb_array_elements(items) WITH ORDINALITY AS e(item, n)
     WHERE NOT coalesce(
               pg_catalog.jsonb_typeof(e.item) = 'object'
           AND pg_catalog.length(e.item ->> 'destination') <= 63
           AND (e.item ->> 'destination') ~ '^[a-z][a-z0-9_]*$'
           AND EXISTS (SELECT FROM outbox.destinations d WHERE d.name = e.item ->> 'destination')
           AND pg_catalog.length(e.item ->> 'event_type') <= 100
           AND (e.item ->> 'event_type') ~ '^[A-Za-z][A-Za-z0-9._:-]*$'
           AND coalesce(pg_catalog.length(e.item ->> 'ordering_key') <= 200
                        AND pg_catalog.btrim(e.item ->> 'ordering_key') <> ''
                        AND (e.item ->> 'ordering_key') !~ '[\u0001-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]',
                        true)
           AND coalesce(pg_catalog.length(e.item ->> 'idempotency_key') <= 200
                        AND pg_catalog.btrim(e.item ->> 'idempotency_key') <> ''
                        AND (e.item ->> 'idempotency_key') !~ '[\u0001-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]',
                        true)
           AND pg_catalog.jsonb_typeof(e.item -> 'payload') = 'object'
           AND NOT pg_catalog.jsonb_path_exists(e.item -> 'payload',
                   'strict $.**{32} ? (@.type() == "object" || @.type() == "array")')
           AND pg_catalog.octet_length((e.item -> 'payload')::text) <= 1048576,
           false)
     ORDER BY e.n
     LIMIT 1;
    IF FOUND THEN
        IF pg_catalog.jsonb_typeof(bad.item) <> 'object' THEN
            RAISE EXCEPTION 'outbox.publish_batch: message % is not a JSON object', bad.n
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Each message is an object with destination, event_type and payload.';
        END IF;
        PERFORM outbox.check_message(bad.n::integer, bad.item ->> 'destination',
                                     bad.item ->> 'event_type', bad.item -> 'payload',
                                     bad.item ->> 'ordering_key', bad.item ->> 'idempotency_key');
        RAISE EXCEPTION 'outbox.publish_batch: message % breaks the publish contract', bad.n
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'See outbox.check_message for the rules.';
    END IF;

    IF EXISTS (SELECT FROM pg_catalog.jsonb_array_elements(items) e
                WHERE e ->> 'idempotency_key' IS NULL) THEN
        SELECT pg_catalog.jsonb_agg(CASE WHEN e.item ->> 'idempotency_key' IS NULL
                                         THEN e.item || pg_catalog.jsonb_build_object(
                                                  'idempotency_key', pg_catalog.gen_random_uuid())
                                         ELSE e.item END ORDER BY e.n)
          INTO items
          FROM pg_catalog.jsonb_array_elements(items) WITH ORDINALITY AS e(item, n);
    END IF;

    -- In the order given, which is the order an ordering key's messages are delivered in.
    WITH inserted AS (
        INSERT INTO outbox.messages AS t
               (destination, event_type, payload, ordering_key, idempotency_key, correlation_id)
        SELECT g.destination, g.event_type, g.payload, g.ordering_key, g.idempotency_key,
               g.correlation_id
          FROM ROWS FROM (pg_catalog.jsonb_to_recordset(items)
                          AS (destination text, event_type text, payload jsonb, ordering_key text,
                              idempotency_key text, correlation_id uuid))
               WITH ORDINALITY AS g(destination, event_type, payload, ordering_key,
                                    idempotency_key, correlation_id, n)
         ORDER BY g.n
            ON CONFLICT ON CONSTRAINT messages_idempotency_key DO NOTHING
        RETURNING t.id, t.destination, t.idempotency_key
    )
    SELECT pg_catalog.array_agg(i.id), pg_catalog.array_agg(i.destination),
           pg_catalog.array_agg(i.idempotency_key)
      INTO ids, dests, keys
      FROM inserted i;
    RETURN QUERY SELECT * FROM unnest(ids, dests, keys);  -- multi-argument: FROM syntax, not a function
    IF coalesce(pg_catalog.cardinality(ids), 0) < pg_catalog.jsonb_array_length(items) THEN
        -- Keys published before (or twice in this batch). A statement of its own, so under
        -- READ COMMITTED it also sees a message a concurrent transaction committed with one of
        -- these keys while this one waited on it.
        RETURN QUERY
        SELECT DISTINCT t.id, t.destination, t.idempotency_key
          FROM pg_catalog.jsonb_to_recordset(items) AS g(destination text, idempotency_key text)
          JOIN outbox.messages t
            ON t.destination = g.destination AND t.idempotency_key = g.idempotency_key
         WHERE t.id <> ALL (coalesce(ids, '{}'));
    END IF;
END
$$;
COMMENT ON FUNCTION outbox.publish_batch(jsonb) IS
    'Publish a JSON array of messages in one statement and return (id, destination, idempotency_key) for every distinct key given; a repeated (destination, idempotency_key) returns the existing message. The same contract as outbox.publish (see outbox.check_message).';
