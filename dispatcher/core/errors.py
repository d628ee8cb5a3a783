"""Errors grouped by what the dispatcher does next, so a failure is classified once, where caught.

- ``RetryableError``: try again later (network, timeouts, 5xx, lock contention); may carry the
  destination's ``retry_after``.
- ``RateLimitedError``: the destination asked us to wait; waiting is not a failed attempt.
- ``NotSentError``: the breaker kept the call from leaving; the message is handed back unsent.
- ``PermanentError``: the destination refused the message itself; retrying cannot help, so the
  message goes to ``dead`` with the destination's own code and message.
- ``ConfigError``: the dispatcher cannot start as configured; every problem is listed at once.
"""

from __future__ import annotations

from dataclasses import dataclass


class DeliveryError(Exception):
    """A delivery failed; ``code`` is the destination's own error code when it gave one."""

    def __init__(self, message: str, *, code: str | None = None, http_status: int | None = None):
        super().__init__(message)
        self.code = code
        self.http_status = http_status


class RetryableError(DeliveryError):
    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message, code=code, http_status=http_status)
        self.retry_after = retry_after


class RateLimitedError(RetryableError):
    """The destination's budget is spent until ``retry_after`` seconds from now."""


class NotSentError(RetryableError):
    """The call never left: the destination's circuit breaker is open. The message goes back
    unsent, due in ``retry_after`` seconds, and the try does not count as an attempt."""


class PermanentError(DeliveryError):
    pass


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    where: str  # file:line, or the environment variable
    key: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.where}: {self.key}: {self.problem} (fix: {self.fix})"


class ConfigError(Exception):
    def __init__(self, issues: list[ConfigIssue]):
        self.issues = issues
        lines = "\n".join(f"  - {issue}" for issue in issues)
        super().__init__(f"the configuration has {len(issues)} problem(s):\n{lines}")
