"""Thinkific identity: the site's user id of each e-mail and the enrollments the destination
made, so a returning customer costs one call instead of a look-up, a create and an enroll.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UP = r"""
CREATE TABLE outbox.thinkific_users (
    site        text NOT NULL,
    email       text NOT NULL CHECK (email = lower(email)),
    user_id     bigint NOT NULL,
    groups      text[] NOT NULL DEFAULT '{}',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site, email)
);
COMMENT ON TABLE outbox.thinkific_users IS 'Thinkific users the destination created or found, by e-mail. A known e-mail is enrolled with its user id at once, without a look-up; an id the site no longer knows is forgotten and found again.';
COMMENT ON COLUMN outbox.thinkific_users.site IS 'The Thinkific site the user id belongs to (API base URL and subdomain): pointing a destination at another site starts from an empty memory, never from the old site''s ids.';
COMMENT ON COLUMN outbox.thinkific_users.email IS 'The user''s e-mail address, lower case; Thinkific matches e-mail addresses regardless of case.';
COMMENT ON COLUMN outbox.thinkific_users.user_id IS 'The user''s id on the Thinkific site (UserResponse.id).';
COMMENT ON COLUMN outbox.thinkific_users.groups IS 'Names of the Thinkific groups (organisations) the destination has added the user to, so a membership is sent once.';
COMMENT ON COLUMN outbox.thinkific_users.updated_at IS 'When the destination last created, found or used the user.';

CREATE TABLE outbox.thinkific_enrollments (
    site          text NOT NULL,
    user_id       bigint NOT NULL,
    course_id     bigint NOT NULL,
    enrollment_id bigint NOT NULL,
    expiry_date   timestamptz,
    message_id    bigint NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site, user_id, course_id)
);
COMMENT ON TABLE outbox.thinkific_enrollments IS 'Enrollments the destination created or updated on a Thinkific site. A redelivered message finds its enrollment here and changes nothing; a later purchase of the same course updates the enrollment instead of creating a second.';
COMMENT ON COLUMN outbox.thinkific_enrollments.site IS 'The Thinkific site (API base URL and subdomain) the enrollment is on.';
COMMENT ON COLUMN outbox.thinkific_enrollments.user_id IS 'The Thinkific user id (EnrollmentResponse.user_id).';
COMMENT ON COLUMN outbox.thinkific_enrollments.course_id IS 'The Thinkific course id (EnrollmentResponse.course_id).';
COMMENT ON COLUMN outbox.thinkific_enrollments.enrollment_id IS 'The enrollment''s id on the site (EnrollmentResponse.id), recorded as the message''s record id.';
COMMENT ON COLUMN outbox.thinkific_enrollments.expiry_date IS 'The expiry date last written; null when the enrollment never expires.';
COMMENT ON COLUMN outbox.thinkific_enrollments.message_id IS 'The outbox message that last wrote the enrollment; its redelivery needs no call.';
COMMENT ON COLUMN outbox.thinkific_enrollments.updated_at IS 'When the destination last wrote the enrollment.';
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute("DROP TABLE outbox.thinkific_enrollments")
    op.execute("DROP TABLE outbox.thinkific_users")
