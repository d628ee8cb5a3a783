"""From a delivery's outcome to the message's next state: the one place retries are decided.

Backoff is exponential with full jitter and a cap; a destination's ``Retry-After`` wins when it
gives one. A rate-limited try waits for the reset and is not counted as a failure. After
``max_attempts`` retryable failures the message goes to ``dead`` with the last error.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from dispatcher.core.destination import Outcome, Result
from dispatcher.core.errors import NotSentError, PermanentError, RateLimitedError, RetryableError
from dispatcher.core.redact import redact
from outbox.models import AttemptOutcome, MessageStatus

# An exception of these types while building one message's request means the message itself
# cannot be encoded (a RecursionError: a payload nested too deeply to map or serialise);
# retrying the same payload cannot help.
_UNENCODABLE = (ValueError, TypeError, KeyError, LookupError, RecursionError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_seconds: float = 30.0
    cap_seconds: float = 6 * 3600.0
    max_attempts: int = 15

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform between 0 and the capped exponential step for this attempt."""
        step = min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempt - 1))
        return rng.uniform(0, step)


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: AttemptOutcome
    status: MessageStatus
    retry_in: float | None  # seconds from the database's now(); the database is the one clock
    error_code: str | None
    error_message: str | None


def decide(outcome: Outcome, attempt: int, policy: RetryPolicy, rng: random.Random) -> Decision:
    code, text = outcome.error_code, outcome.error_message
    if outcome.result is Result.DELIVERED:
        return Decision(AttemptOutcome.DELIVERED, MessageStatus.DELIVERED, None, None, None)
    if outcome.result is Result.DEAD:
        return Decision(AttemptOutcome.DEAD, MessageStatus.DEAD, None, code, text)
    if outcome.result is Result.RATE_LIMITED:
        wait = outcome.retry_after if outcome.retry_after is not None else policy.backoff(1, rng)
        return Decision(AttemptOutcome.RATE_LIMITED, MessageStatus.RETRYING, wait, code, text)
    if outcome.result is Result.RELEASED:
        wait = outcome.retry_after or 0.0
        return Decision(AttemptOutcome.RELEASED, MessageStatus.RETRYING, wait, code, text)
    if attempt >= policy.max_attempts:
        gave_up = f"gave up after {attempt} attempts; last error: {text}"
        return Decision(AttemptOutcome.DEAD, MessageStatus.DEAD, None, code, gave_up)
    wait = outcome.retry_after if outcome.retry_after is not None else policy.backoff(attempt, rng)
    return Decision(AttemptOutcome.RETRY, MessageStatus.RETRYING, wait, code, text)


def outcome_for_error(message_id: int, error: BaseException) -> Outcome:
    """Classify an exception once, where it was caught, into an outcome for one message."""
    text = redact(f"{type(error).__name__}: {error}")
    if isinstance(error, RateLimitedError):
        return Outcome(
            message_id, Result.RATE_LIMITED, error.http_status, error.code, text, error.retry_after
        )
    if isinstance(error, NotSentError):
        return Outcome(message_id, Result.RELEASED, None, error.code, text, error.retry_after)
    if isinstance(error, RetryableError):
        return Outcome(
            message_id, Result.RETRY, error.http_status, error.code, text, error.retry_after
        )
    if isinstance(error, PermanentError):
        return Outcome(message_id, Result.DEAD, error.http_status, error.code, text)
    permanent = getattr(error, "permanent", None)
    if permanent is True or (permanent is None and isinstance(error, _UNENCODABLE)):
        return Outcome(message_id, Result.DEAD, None, _code(error, "UNENCODABLE_MESSAGE"), text)
    return Outcome(message_id, Result.RETRY, None, _code(error, "UNEXPECTED_ERROR"), text)


def _code(error: BaseException, default: str) -> str:
    code = getattr(error, "code", None)
    return code if isinstance(code, str) and code else default
