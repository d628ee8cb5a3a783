"""A circuit breaker per destination: stop hammering a destination that keeps failing.

After ``threshold`` consecutive retryable failures the breaker opens and the worker stops
claiming for ``cooldown`` seconds; then one small probe batch is let through (half-open). A
success closes it, a failure opens it again. Permanent failures say nothing about the
destination's health and do not count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class CircuitBreaker:
    threshold: int
    cooldown: float
    clock: Callable[[], float]
    on_change: Callable[[BreakerState, BreakerState], None] = lambda old, new: None
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    opened_at: float = field(default=0.0)

    def allow(self) -> bool:
        """May the worker claim now? In half-open the worker sends one probe batch at a time."""
        if self.state is BreakerState.OPEN and self.clock() - self.opened_at >= self.cooldown:
            self._move(BreakerState.HALF_OPEN)
        return self.state is not BreakerState.OPEN

    @property
    def probing(self) -> bool:
        return self.state is BreakerState.HALF_OPEN

    def record(self, *, succeeded: int, failed: int) -> None:
        """Count a batch: any success closes; retryable failures alone may open."""
        if succeeded:
            self.failures = 0
            if self.state is not BreakerState.CLOSED:
                self._move(BreakerState.CLOSED)
            return
        if not failed:
            return
        self.failures += failed
        if self.state is BreakerState.HALF_OPEN or self.failures >= self.threshold:
            self.opened_at = self.clock()
            self._move(BreakerState.OPEN)

    def _move(self, new: BreakerState) -> None:
        old, self.state = self.state, new
        if old is not new:
            self.on_change(old, new)
