-- outbox.take_budget: a rate limit shared by every dispatcher process and host.
-- Grants up to `wanted` requests from the current fixed window (aligned to the wall clock, as
-- Thinkific's per-minute limit is) and says how long until the next window when it cannot
-- grant them all. The row lock taken by the upsert serialises concurrent callers.
CREATE OR REPLACE FUNCTION outbox.take_budget(
    destination text, wanted integer, per_window integer, window_seconds integer DEFAULT 60)
RETURNS TABLE (granted integer, retry_in double precision)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    now_ts timestamptz := clock_timestamp();
    win timestamptz := to_timestamp(floor(extract(epoch FROM now_ts) / window_seconds) * window_seconds);
    used_before integer;
BEGIN
    INSERT INTO outbox.rate_budgets AS b (destination, window_started_at, used)
    VALUES (take_budget.destination, win, 0)
    ON CONFLICT ON CONSTRAINT rate_budgets_pkey DO UPDATE
       SET window_started_at = win,
           used = CASE WHEN b.window_started_at = win THEN b.used ELSE 0 END
    RETURNING b.used INTO used_before;
    granted := greatest(0, least(take_budget.wanted, take_budget.per_window - used_before));
    IF granted > 0 THEN
        UPDATE outbox.rate_budgets b SET used = b.used + granted
         WHERE b.destination = take_budget.destination;
    END IF;
    retry_in := CASE WHEN granted < take_budget.wanted
                     THEN extract(epoch FROM win + make_interval(secs => window_seconds) - now_ts)
                     ELSE 0 END;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION outbox.take_budget(text, integer, integer, integer) IS 'Take up to `wanted` requests from a destination''s shared per-window budget; returns how many were granted and, when short, the seconds until the window resets.';
