"""The circuit breaker's states."""

from __future__ import annotations

from dispatcher.breaker import BreakerState, CircuitBreaker


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_threshold_and_probes_after_cooldown() -> None:
    clock = FakeClock()
    changes: list[tuple[BreakerState, BreakerState]] = []
    breaker = CircuitBreaker(3, 10.0, clock, lambda old, new: changes.append((old, new)))
    breaker.record(succeeded=0, failed=2)
    assert breaker.allow()
    breaker.record(succeeded=0, failed=1)
    assert not breaker.allow()
    clock.now = 10.0
    assert breaker.allow()
    assert breaker.probing
    breaker.record(succeeded=0, failed=1)
    assert breaker.state is BreakerState.OPEN
    clock.now = 20.0
    assert breaker.allow()
    breaker.record(succeeded=1, failed=0)
    assert breaker.state is BreakerState.CLOSED
    assert [new for _, new in changes] == ["open", "half_open", "open", "half_open", "closed"]


def test_breaker_ignores_batches_with_only_permanent_failures() -> None:
    breaker = CircuitBreaker(1, 10.0, FakeClock())
    breaker.record(succeeded=0, failed=0)
    assert breaker.state is BreakerState.CLOSED
