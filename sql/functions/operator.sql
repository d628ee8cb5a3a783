-- Operator functions: retry, cancel, replay and the history of a message. Every change is
-- audited in outbox.operator_actions with who (the outbox.actor setting, or session_user),
-- when and why.

CREATE OR REPLACE FUNCTION outbox.actor() RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(nullif(pg_catalog.current_setting('outbox.actor', true), ''), session_user::text)
$$;
COMMENT ON FUNCTION outbox.actor() IS 'Who is acting: the outbox.actor setting (the CLI sets it) or the database user.';

CREATE OR REPLACE FUNCTION outbox.retry(message_id bigint, reason text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    changed integer;
BEGIN
    UPDATE outbox.messages m
       SET status = 'pending', attempts = 0, next_attempt_at = now(), updated_at = now()
     WHERE m.id = retry.message_id AND m.status IN ('dead', 'cancelled');
    GET DIAGNOSTICS changed = ROW_COUNT;
    IF changed = 0 AND NOT EXISTS (SELECT 1 FROM outbox.messages m WHERE m.id = retry.message_id) THEN
        RAISE EXCEPTION 'outbox.retry: no message %', retry.message_id
            USING ERRCODE = 'no_data_found', HINT = 'Find ids in outbox.dead_letters.';
    END IF;
    INSERT INTO outbox.operator_actions (actor, action, message_id, reason, affected)
    VALUES (outbox.actor(), 'retry', retry.message_id, retry.reason, changed);
    RETURN changed = 1;
END
$$;
COMMENT ON FUNCTION outbox.retry(bigint, text) IS 'Send a dead or cancelled message again, with a fresh set of attempts. Returns false when the message was not dead or cancelled. Audited.';

CREATE OR REPLACE FUNCTION outbox.retry_dead(destination text, error_code text DEFAULT NULL, reason text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    changed integer;
BEGIN
    UPDATE outbox.messages m
       SET status = 'pending', attempts = 0, next_attempt_at = now(), updated_at = now()
     WHERE m.status = 'dead' AND m.destination = retry_dead.destination
       AND (retry_dead.error_code IS NULL OR m.last_error_code = retry_dead.error_code);
    GET DIAGNOSTICS changed = ROW_COUNT;
    INSERT INTO outbox.operator_actions (actor, action, destination, detail, reason, affected)
    VALUES (outbox.actor(), 'retry_dead', retry_dead.destination,
            coalesce('error_code=' || retry_dead.error_code, 'all'), retry_dead.reason, changed);
    RETURN changed;
END
$$;
COMMENT ON FUNCTION outbox.retry_dead(text, text, text) IS 'Send again every dead message of a destination, or only those that died with error_code. Returns how many. Audited.';

CREATE OR REPLACE FUNCTION outbox.cancel(message_id bigint, reason text)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    changed integer;
BEGIN
    IF reason IS NULL OR btrim(reason) = '' THEN
        RAISE EXCEPTION 'outbox.cancel: say why'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass a reason: it is kept in outbox.operator_actions.';
    END IF;
    UPDATE outbox.messages m
       SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL,
           last_error_code = 'CANCELLED', last_error = cancel.reason, updated_at = now()
     WHERE m.id = cancel.message_id AND m.status IN ('pending', 'retrying', 'in_flight', 'dead');
    GET DIAGNOSTICS changed = ROW_COUNT;
    IF changed = 0 AND NOT EXISTS (SELECT 1 FROM outbox.messages m WHERE m.id = cancel.message_id) THEN
        RAISE EXCEPTION 'outbox.cancel: no message %', cancel.message_id USING ERRCODE = 'no_data_found';
    END IF;
    INSERT INTO outbox.operator_actions (actor, action, message_id, reason, affected)
    VALUES (outbox.actor(), 'cancel', cancel.message_id, cancel.reason, changed);
    RETURN changed = 1;
END
$$;
COMMENT ON FUNCTION outbox.cancel(bigint, text) IS 'Stop a message for good (it no longer blocks its ordering key). An in-flight delivery that finishes later changes nothing. Audited.';

CREATE OR REPLACE FUNCTION outbox.replay(
    destination text, since timestamptz, until timestamptz DEFAULT now(),
    event_type text DEFAULT NULL, reason text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    copied integer;
    stamp text := pg_catalog.to_char(pg_catalog.clock_timestamp() AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS.US');
BEGIN
    INSERT INTO outbox.messages (destination, event_type, payload, ordering_key, idempotency_key, correlation_id)
    SELECT m.destination, m.event_type, m.payload, m.ordering_key,
           m.idempotency_key || ':replay:' || stamp, m.correlation_id
      FROM outbox.messages m
     WHERE m.destination = replay.destination AND m.status = 'delivered'
       AND m.created_at >= replay.since AND m.created_at < replay.until
       AND (replay.event_type IS NULL OR m.event_type = replay.event_type)
     ORDER BY m.id;
    GET DIAGNOSTICS copied = ROW_COUNT;
    INSERT INTO outbox.operator_actions (actor, action, destination, detail, reason, affected)
    VALUES (outbox.actor(), 'replay', replay.destination,
            pg_catalog.format('since=%s until=%s event_type=%s', replay.since, replay.until,
                   coalesce(replay.event_type, 'all')), replay.reason, copied);
    RETURN copied;
END
$$;
COMMENT ON FUNCTION outbox.replay(text, timestamptz, timestamptz, text, text) IS 'Publish again, in the original order, the delivered messages of a destination created in [since, until): a backfill after a restore. Destinations write idempotently, so a replay updates, never duplicates. Audited.';

CREATE OR REPLACE FUNCTION outbox.message_history(message_id bigint)
RETURNS TABLE (at timestamptz, kind text, number integer, worker text, outcome text,
               http_status integer, error_code text, error_message text, duration_ms double precision,
               mapping_version text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.created_at, 'published', NULL::integer, NULL, m.status::text, NULL::integer,
           NULL, m.event_type || ' to ' || m.destination, NULL::double precision, NULL
      FROM outbox.messages m WHERE m.id = message_history.message_id
    UNION ALL
    SELECT a.started_at, 'attempt', a.number, a.worker, a.outcome::text, a.http_status,
           a.error_code, a.error_message, a.duration_ms, a.mapping_version
      FROM outbox.attempts a WHERE a.message_id = message_history.message_id
    UNION ALL
    SELECT o.at, 'operator', NULL, o.actor, o.action, NULL, NULL, o.reason, NULL, NULL
      FROM outbox.operator_actions o WHERE o.message_id = message_history.message_id
    ORDER BY 1, 2 DESC
$$;
COMMENT ON FUNCTION outbox.message_history(bigint) IS 'A message''s life in time order: when it was published (and its current status), every delivery attempt, and every operator action on it.';
