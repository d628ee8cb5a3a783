-- outbox.publish: the storefront's way in, from any language.
-- Call it inside the transaction that writes the order; the message commits or rolls back with it.
CREATE OR REPLACE FUNCTION outbox.publish(
    destination     text,
    event_type      text,
    payload         jsonb,
    ordering_key    text DEFAULT NULL,
    idempotency_key text DEFAULT NULL,
    correlation_id  uuid DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    message_id bigint;
    key text := coalesce(publish.idempotency_key, gen_random_uuid()::text);
BEGIN
    IF publish.event_type IS NULL OR btrim(publish.event_type) = '' THEN
        RAISE EXCEPTION 'outbox.publish: event_type must not be empty'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass what happened, such as ''order.placed''.';
    END IF;
    IF publish.payload IS NULL OR jsonb_typeof(publish.payload) <> 'object' THEN
        RAISE EXCEPTION 'outbox.publish: payload must be a JSON object, got %',
                coalesce(jsonb_typeof(publish.payload), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Wrap the value in an object, such as jsonb_build_object(''order'', ...).';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM outbox.destinations d WHERE d.name = publish.destination) THEN
        RAISE EXCEPTION 'outbox.publish: unknown destination "%"', publish.destination
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Known destinations are listed in outbox.destinations: '
                         || (SELECT string_agg(d.name, ', ' ORDER BY d.name) FROM outbox.destinations d) || '.';
    END IF;

    INSERT INTO outbox.messages AS m
           (destination, event_type, payload, ordering_key, idempotency_key, correlation_id)
    VALUES (publish.destination, publish.event_type, publish.payload, publish.ordering_key,
            key, publish.correlation_id)
    ON CONFLICT ON CONSTRAINT messages_idempotency_key DO NOTHING
    RETURNING m.id INTO message_id;

    IF message_id IS NULL THEN
        SELECT m.id INTO message_id
          FROM outbox.messages m
         WHERE m.destination = publish.destination AND m.idempotency_key = key;
    END IF;
    RETURN message_id;
END
$$;
COMMENT ON FUNCTION outbox.publish(text, text, jsonb, text, text, uuid) IS
    'Publish one message in the caller''s transaction and return its id. A repeated (destination, idempotency_key) returns the existing id and inserts nothing. Raises on an unknown destination, an empty event type or a payload that is not a JSON object.';
