"""A circuit breaker per destination: stop calling a destination that keeps failing.

The breaker counts calls, not batches: every HTTP call to the destination passes through it
(``dispatcher.destinations.http.BreakerTransport``). After ``threshold`` consecutive failed calls
(no answer, or a 5xx) it opens, and from then on no call leaves the process: what a batch had not
sent yet is handed back unsent, not counted as an attempt, and the worker stops claiming. So a
failing destination receives at most ``threshold`` calls plus those already on the wire when it
opened. After ``cooldown`` seconds the worker claims one message as a probe (half-open), and one
call at a time goes out: an answer closes the breaker, a failure opens it again. Any answer that
is not a 5xx (a 4xx, a 429) says the destination is up and resets the count.
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
    probe_in_flight: bool = False

    def allow(self) -> bool:
        """May the worker claim now? In half-open the worker claims one probe message."""
        if self.state is BreakerState.OPEN and self.clock() - self.opened_at >= self.cooldown:
            self.probe_in_flight = False
            self._move(BreakerState.HALF_OPEN)
        return self.state is not BreakerState.OPEN

    @property
    def probing(self) -> bool:
        return self.state is BreakerState.HALF_OPEN

    def admit(self) -> float | None:
        """May one call leave now? None for yes; otherwise the seconds until a probe may."""
        if not self.allow():
            return max(0.0, self.cooldown - (self.clock() - self.opened_at))
        if self.state is BreakerState.HALF_OPEN:
            if self.probe_in_flight:
                return self.cooldown
            self.probe_in_flight = True
        return None

    def answered(self) -> None:
        """The destination answered a call (anything but a 5xx): it is up."""
        self.failures = 0
        self.probe_in_flight = False
        if self.state is not BreakerState.CLOSED:
            self._move(BreakerState.CLOSED)

    def failed(self) -> None:
        """A call got no answer or a 5xx."""
        self.failures += 1
        self.probe_in_flight = False
        if self.state is BreakerState.HALF_OPEN or (
            self.state is BreakerState.CLOSED and self.failures >= self.threshold
        ):
            self.opened_at = self.clock()
            self._move(BreakerState.OPEN)

    def abandoned(self) -> None:
        """A call was cut short by us (shutdown): it says nothing about the destination."""
        self.probe_in_flight = False

    def _move(self, new: BreakerState) -> None:
        old, self.state = self.state, new
        if old is not new:
            self.on_change(old, new)
