"""The retry policy and the classification of failures."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatcher.core.destination import Outcome, Result
from dispatcher.core.errors import PermanentError, RateLimitedError, RetryableError
from dispatcher.core.redact import redact
from dispatcher.core.retry import RetryPolicy, decide, outcome_for_error
from dispatcher.destinations.http import (
    error_for_response,
    reset_after_seconds,
    retry_after_seconds,
)
from outbox.models import AttemptOutcome, MessageStatus


@given(attempt=st.integers(min_value=1, max_value=60), seed=st.integers())
def test_backoff_stays_within_capped_exponential(attempt: int, seed: int) -> None:
    policy = RetryPolicy(base_seconds=2, cap_seconds=100, max_attempts=60)
    wait = policy.backoff(attempt, random.Random(seed))
    assert 0 <= wait <= min(100, 2 * 2 ** (attempt - 1))


def test_backoff_default_schedule_spreads_over_about_a_day() -> None:
    policy = RetryPolicy()
    steps = [min(policy.cap_seconds, policy.base_seconds * 2 ** (n - 1)) for n in range(1, 15)]
    mean_total_hours = sum(steps) / 2 / 3600  # full jitter waits half a step on average
    assert 12 <= mean_total_hours <= 36


def test_decide_retry_then_dead_after_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3)
    failure = Outcome(1, Result.RETRY, 503, "HTTP_503", "HTTP 503")
    rng = random.Random(1)
    assert decide(failure, 2, policy, rng).status is MessageStatus.RETRYING
    last = decide(failure, 3, policy, rng)
    assert (last.status, last.outcome) == (MessageStatus.DEAD, AttemptOutcome.DEAD)
    assert last.error_message is not None
    assert last.error_message.startswith("gave up after 3")


def test_decide_honours_retry_after_over_backoff() -> None:
    outcome = Outcome(1, Result.RETRY, 503, "HTTP_503", "busy", retry_after=42.0)
    assert decide(outcome, 1, RetryPolicy(), random.Random(0)).retry_in == 42.0


def test_decide_rate_limit_waits_without_counting_as_failure() -> None:
    outcome = Outcome(1, Result.RATE_LIMITED, 429, "RATE_LIMITED", "slow down", retry_after=7.0)
    decision = decide(outcome, 99, RetryPolicy(max_attempts=3), random.Random(0))
    assert (decision.outcome, decision.status, decision.retry_in) == (
        AttemptOutcome.RATE_LIMITED,
        MessageStatus.RETRYING,
        7.0,
    )


def test_retry_after_parses_seconds_and_http_date() -> None:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120.0
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds(later, now=now) == pytest.approx(90.0)
    assert retry_after_seconds("soon") is None


def test_reset_header_read_as_epoch_milliseconds() -> None:
    response = httpx.Response(429, headers={"ratelimit-reset": "1785947700000"})
    assert reset_after_seconds(response, now=1785947690.0) == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (429, RateLimitedError),
        (503, RetryableError),
        (522, RetryableError),
        (408, RetryableError),
        (400, PermanentError),
        (404, PermanentError),
        (422, PermanentError),
    ],
)
def test_error_for_response_classifies_status(status: int, kind: type[Exception]) -> None:
    error = error_for_response(httpx.Response(status, text="nope"))
    assert type(error) is kind
    assert error.http_status == status


def test_outcome_for_error_unencodable_payload_is_dead() -> None:
    assert outcome_for_error(1, KeyError("customer")).result is Result.DEAD
    assert outcome_for_error(1, RuntimeError("bug")).result is Result.RETRY


def test_redact_masks_email_addresses() -> None:
    assert redact("no user ada.lovelace@example.org found") == "no user a***@example.org found"


def test_redact_masks_secrets_and_truncates() -> None:
    text = redact('Authorization: Bearer abc.def {"access_token": "s3cr3t"} ' + "x" * 1000)
    assert "abc.def" not in text
    assert "s3cr3t" not in text
    assert len(text) <= 500


def test_id_ranges_compacts_consecutive_ids() -> None:
    from dispatcher.core.worker import id_ranges

    assert id_ranges([5, 1, 2, 3, 9, 10]) == "1-3,5,9-10"
    assert id_ranges([7]) == "7"
    assert id_ranges([]) == ""


def test_redact_masks_personal_fields_but_not_error_lists() -> None:
    body = (
        '{"errors": {"first_name": ["can\'t be blank"]}, "first_name": "Ada", '
        '"LastName": "Love \\"lace\\"", "company": "Analytical Clinic", "sku": "WB-1"}'
    )
    text = redact(body)
    for secret in ("Ada", "Love", "Analytical"):
        assert secret not in text
    assert '"first_name": ["can\'t be blank"]' in text
    assert '"sku": "WB-1"' in text
    assert redact("first_name=Ada city=Leeds destination=salesforce") == (
        "first_name=[redacted] city=[redacted] destination=salesforce"
    )


def test_log_lines_carry_no_personal_data() -> None:
    import io
    import json

    import structlog

    from dispatcher.cli import logs

    sink = io.StringIO()
    logs.configure(file=sink)
    try:
        structlog.get_logger("t").warning(
            "write refused", detail='{"last_name": "Lovelace", "email": "ada@example.org"}'
        )
    finally:
        structlog.reset_defaults()
    line = json.loads(sink.getvalue())
    assert line["detail"] == '{"last_name": [redacted], "email": "a***@example.org"}'
