"""The breaker stops the calls: a failing destination hears at most the threshold's worth of
calls plus those already on the wire, and what was claimed but not sent goes back unsent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from dispatcher.core.breaker import BreakerState, CircuitBreaker
from dispatcher.core.worker import DestinationWorker, WorkerSettings
from dispatcher.destinations.http import BreakerTransport
from dispatcher.destinations.webhook import WebhookDestination
from tests.fixtures.webhook_server import Receiver, webhook_receiver

THRESHOLD = 3
KEY = {"Idempotency-Key": "probe"}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as r:
        yield r


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    async with AsyncConnectionPool(
        db_url, min_size=1, max_size=6, open=False, kwargs={"autocommit": True}
    ) as p:
        yield p


async def _run_until(worker: DestinationWorker, until: Any) -> None:
    stopping = asyncio.Event()
    task = asyncio.create_task(worker.run(stopping, grace=5))
    try:
        for _ in range(600):  # at most 30 s: a guard against a hang, not a figure under test
            if await until():
                break
            await asyncio.sleep(0.05)
    finally:
        stopping.set()
        await task


async def test_breaker_open_stops_calls_and_releases_what_was_not_sent(
    pool: AsyncConnectionPool[Any], conn: psycopg.Connection[Any], receiver: Receiver
) -> None:
    conn.execute(
        "INSERT INTO outbox.messages (destination, event_type, payload) "
        "SELECT 'webhook', 'test', jsonb_build_object('n', g) FROM generate_series(1, 60) g"
    )
    conn.commit()
    receiver.fail_with, receiver.delay = 503, 0.05
    breaker = CircuitBreaker(THRESHOLD, 60.0, time.monotonic)  # no probe during the test
    async with httpx.AsyncClient(
        transport=BreakerTransport(breaker, httpx.AsyncHTTPTransport())
    ) as client:
        destination = WebhookDestination(client, receiver.url, max_batch=10, parallel=2)
        settings = WorkerSettings(batch_size=10, concurrency=3, poll_interval=0.05)
        worker = DestinationWorker(
            destination, pool, "w1", settings, wakeup=asyncio.Event(), breaker=breaker
        )

        async def settled() -> bool:
            async with pool.connection() as c:
                row = await (
                    await c.execute(
                        "SELECT count(*) FROM outbox.messages WHERE status = 'in_flight'"
                    )
                ).fetchone()
            return breaker.state is BreakerState.OPEN and row == (0,)

        await _run_until(worker, settled)
    assert breaker.state is BreakerState.OPEN
    # Three batches of ten claimed at once, two calls of each on the wire at a time: without
    # the breaker at the calls, all thirty claimed messages were sent; after it opened, no
    # further batch was claimed.
    assert receiver.peak <= 6
    assert receiver.calls <= THRESHOLD + receiver.peak
    counted = conn.execute(
        "SELECT sum(attempts), count(*) FILTER (WHERE attempts = 0), "
        "count(*) FILTER (WHERE status = 'retrying'), count(*) FILTER (WHERE status = 'pending') "
        "FROM outbox.messages"
    ).fetchone()
    assert counted is not None
    claimed = counted[2]  # up to three batches, however many were claimed before it opened
    assert claimed in (10, 20, 30)
    assert counted == (receiver.calls, 60 - receiver.calls, claimed, 60 - claimed)
    outcomes = dict(
        conn.execute("SELECT outcome::text, count(*) FROM outbox.attempts GROUP BY 1").fetchall()
    )
    assert outcomes["retry"] == receiver.calls
    assert outcomes.get("released", 0) == claimed - receiver.calls  # claimed, never sent
    released = conn.execute(
        "SELECT DISTINCT error_code FROM outbox.attempts WHERE outcome = 'released'"
    ).fetchall()
    assert released == [("BREAKER_OPEN",)]


async def test_breaker_lets_one_probe_call_through_after_the_cooldown(
    receiver: Receiver,
) -> None:
    clock = [0.0]
    breaker = CircuitBreaker(THRESHOLD, 10.0, lambda: clock[0])
    receiver.fail_with = 503
    async with httpx.AsyncClient(
        transport=BreakerTransport(breaker, httpx.AsyncHTTPTransport())
    ) as client:
        for _ in range(THRESHOLD):
            assert (await client.post(receiver.url, json={}, headers=KEY)).status_code == 503
        with pytest.raises(httpx.TransportError, match="circuit breaker is open"):
            await client.post(receiver.url, json={}, headers=KEY)
        assert receiver.calls == THRESHOLD
        clock[0] = 10.0
        assert breaker.allow()
        assert breaker.state is BreakerState.HALF_OPEN
        receiver.fail_with = None
        assert (await client.post(receiver.url, json={}, headers=KEY)).status_code == 200
    assert breaker.state is BreakerState.CLOSED
    assert receiver.calls == THRESHOLD + 1
