"""The circuit breaker's states, counted per call."""

from __future__ import annotations

from dispatcher.core.breaker import BreakerState, CircuitBreaker


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_threshold_and_probes_after_cooldown() -> None:
    clock = FakeClock()
    changes: list[tuple[BreakerState, BreakerState]] = []
    breaker = CircuitBreaker(3, 10.0, clock, lambda old, new: changes.append((old, new)))
    breaker.failed()
    breaker.failed()
    assert breaker.allow()
    assert breaker.admit() is None
    breaker.failed()
    assert not breaker.allow()
    assert breaker.admit() == 10.0  # no call leaves; a probe may in ten seconds
    clock.now = 4.0
    assert breaker.admit() == 6.0
    clock.now = 10.0
    assert breaker.allow()
    assert breaker.probing
    assert breaker.admit() is None  # the probe
    assert breaker.admit() is not None  # one call at a time while probing
    breaker.failed()
    assert breaker.state is BreakerState.OPEN
    clock.now = 20.0
    assert breaker.allow()
    assert breaker.admit() is None
    breaker.answered()
    assert breaker.state is BreakerState.CLOSED
    assert [new for _, new in changes] == ["open", "half_open", "open", "half_open", "closed"]


def test_breaker_answer_resets_the_count_of_consecutive_failures() -> None:
    breaker = CircuitBreaker(2, 10.0, FakeClock())
    breaker.failed()
    breaker.answered()  # a 4xx or a 429 is an answer: the destination is up
    breaker.failed()
    assert breaker.state is BreakerState.CLOSED
    breaker.failed()
    assert breaker.state is BreakerState.OPEN


def test_breaker_failures_on_the_wire_after_opening_do_not_extend_the_cooldown() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(1, 10.0, clock)
    breaker.failed()
    clock.now = 5.0
    breaker.failed()  # a call sent before it opened, failing late
    clock.now = 10.0
    assert breaker.allow()


def test_breaker_probe_cut_short_lets_the_next_probe_go() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(1, 1.0, clock)
    breaker.failed()
    clock.now = 1.0
    assert breaker.admit() is None
    breaker.abandoned()
    assert breaker.admit() is None
