-- name: thinkific_take_budget :one
-- Take up to the wanted number of requests from the site's shared per-minute budget (outbox.take_budget),
-- and say how long the current window has left, so grants kept in hand expire with it.
SELECT t.granted,
       t.retry_in,
       extract(epoch FROM to_timestamp(
           (floor(extract(epoch FROM clock_timestamp()) / %(window_seconds)s::int) + 1)
           * %(window_seconds)s::int) - clock_timestamp()) AS window_left
  FROM outbox.take_budget(%(destination)s::text, %(wanted)s::int, %(per_window)s::int,
                         %(window_seconds)s::int) t

-- name: thinkific_known_users :many
-- The Thinkific user ids (and groups joined) of a batch's e-mail addresses, as remembered.
SELECT email, user_id, groups
  FROM outbox.thinkific_users
 WHERE site = %(site)s
   AND email = ANY(%(emails)s::text[])

-- name: thinkific_remember_user :exec
-- Remember a user created or found on the site, and the groups it has been added to.
INSERT INTO outbox.thinkific_users (site, email, user_id, groups)
VALUES (%(site)s, lower(%(email)s), %(user_id)s, %(groups)s::text[])
    ON CONFLICT (site, email) DO UPDATE
   SET user_id = EXCLUDED.user_id,
       groups = CASE WHEN outbox.thinkific_users.user_id = EXCLUDED.user_id
                     THEN ARRAY(SELECT DISTINCT unnest(outbox.thinkific_users.groups
                                                       || EXCLUDED.groups) ORDER BY 1)
                     ELSE EXCLUDED.groups END,
       updated_at = coalesce(%(now)s::timestamptz, now())

-- name: thinkific_forget_user :exec
-- Forget a user id the site answered "could not be found" for, with its enrollments.
WITH gone AS (
    DELETE FROM outbox.thinkific_users
     WHERE site = %(site)s AND email = lower(%(email)s)
    RETURNING user_id
)
DELETE FROM outbox.thinkific_enrollments e
 USING gone
 WHERE e.site = %(site)s AND e.user_id = gone.user_id

-- name: thinkific_known_enrollments :many
-- The enrollments the destination made for a batch's (user, course) pairs.
SELECT e.user_id, e.course_id, e.enrollment_id, e.expiry_date, e.message_id
  FROM outbox.thinkific_enrollments e
  JOIN unnest(%(user_ids)s::bigint[], %(course_ids)s::bigint[]) AS wanted(user_id, course_id)
    ON wanted.user_id = e.user_id AND wanted.course_id = e.course_id
 WHERE e.site = %(site)s

-- name: thinkific_remember_enrollment :exec
-- Remember the enrollment a message created or updated, and the expiry it now has; and, in the
-- same statement, the order line it granted with the end of access that line paid for.
WITH granted AS (
    INSERT INTO outbox.thinkific_lines
           (site, line, user_id, course_id, expiry_date, granted_at, message_id)
    SELECT %(site)s, %(line)s::text, %(user_id)s, %(course_id)s, %(line_expiry)s::timestamptz,
           coalesce(%(now)s::timestamptz, now()), %(message_id)s
     WHERE %(line)s::text IS NOT NULL
        ON CONFLICT (site, line) DO UPDATE
       SET user_id = EXCLUDED.user_id,
           course_id = EXCLUDED.course_id,
           expiry_date = EXCLUDED.expiry_date,
           granted_at = coalesce(outbox.thinkific_lines.granted_at, EXCLUDED.granted_at),
           message_id = EXCLUDED.message_id
     WHERE outbox.thinkific_lines.revoked_at IS NULL
)
INSERT INTO outbox.thinkific_enrollments
       (site, user_id, course_id, enrollment_id, expiry_date, message_id)
VALUES (%(site)s, %(user_id)s, %(course_id)s, %(enrollment_id)s,
        %(expiry_date)s::timestamptz, %(message_id)s)
    ON CONFLICT (site, user_id, course_id) DO UPDATE
   SET enrollment_id = EXCLUDED.enrollment_id,
       expiry_date = EXCLUDED.expiry_date,
       message_id = EXCLUDED.message_id,
       updated_at = coalesce(%(now)s::timestamptz, now())

-- name: thinkific_forget_enrollment :exec
-- Forget an enrollment id the site answered 404 for, so the next try creates one.
DELETE FROM outbox.thinkific_enrollments
 WHERE site = %(site)s AND enrollment_id = %(enrollment_id)s

-- name: thinkific_revoked_lines :many
-- Which of a batch's order lines were taken back (refund or cancellation) on the site.
SELECT line
  FROM outbox.thinkific_lines
 WHERE site = %(site)s
   AND line = ANY(%(lines)s::text[])
   AND revoked_at IS NOT NULL

-- name: thinkific_revoke_line :exec
-- Remember that a line's access was taken back; the first revocation's time is kept.
INSERT INTO outbox.thinkific_lines (site, line, revoked_at, message_id)
VALUES (%(site)s, %(line)s, coalesce(%(now)s::timestamptz, now()), %(message_id)s)
    ON CONFLICT (site, line) DO UPDATE
   SET revoked_at = coalesce(outbox.thinkific_lines.revoked_at, EXCLUDED.revoked_at),
       message_id = EXCLUDED.message_id

-- name: thinkific_paid_lines :many
-- The ends of access (null: never) the user's other paid, granted lines of the course give.
SELECT expiry_date
  FROM outbox.thinkific_lines
 WHERE site = %(site)s
   AND user_id = %(user_id)s
   AND course_id = %(course_id)s
   AND revoked_at IS NULL
   AND line <> %(line)s
