"""Thinkific's per-site request budget: a fixed window aligned to the wall-clock minute.

Modelled on a live capture (API-NOTES §2.5): every response carries ``ratelimit-limit``,
``ratelimit-remaining`` and ``ratelimit-reset`` (the next whole-minute boundary as absolute
epoch **milliseconds**), plus the same figures again as ``x-ratelimit-limit-minute`` and
``x-ratelimit-remaining-minute``. The clock is injected, so a test crosses a minute boundary
by moving it rather than by sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Quota:
    """One request's place in its window: whether it may pass, and the headers it carries."""

    allowed: bool
    limit: int
    remaining: int
    reset_ms: int

    def headers(self) -> dict[str, str]:
        return {
            "ratelimit-limit": str(self.limit),
            "ratelimit-remaining": str(self.remaining),
            "ratelimit-reset": str(self.reset_ms),
            "x-ratelimit-limit-minute": str(self.limit),
            "x-ratelimit-remaining-minute": str(self.remaining),
        }

    def exhausted(self) -> Quota:
        """The same window seen by a request refused for another reason (an injected 429)."""
        return Quota(False, self.limit, 0, self.reset_ms)


@dataclass
class RateLimiter:
    """Counts requests per subdomain per minute; refused requests do not spend the budget."""

    limit: int
    clock: Callable[[], float]
    _used: dict[str, tuple[int, int]] = field(default_factory=dict)  # subdomain: (window, used)

    def take(self, subdomain: str) -> Quota:
        window, used = self._current(subdomain)
        quota = self._quota(window, used + 1)
        if quota.allowed:
            self._used[subdomain] = (window, used + 1)
        return quota

    def peek(self, subdomain: str) -> Quota:
        """The window as it stands, without spending a request (for answers refused early)."""
        window, used = self._current(subdomain)
        return self._quota(window, used)

    def _current(self, subdomain: str) -> tuple[int, int]:
        window = int(self.clock() // WINDOW_SECONDS)
        seen, used = self._used.get(subdomain, (window, 0))
        return window, used if seen == window else 0

    def _quota(self, window: int, used: int) -> Quota:
        reset_ms = (window + 1) * WINDOW_SECONDS * 1000
        return Quota(used <= self.limit, self.limit, max(0, self.limit - used), reset_ms)
