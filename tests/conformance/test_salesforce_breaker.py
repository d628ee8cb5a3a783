"""A failing Salesforce org hears at most the breaker's threshold of calls plus those on the
wire; the batches claimed but not sent go back unsent. The org answers 503
``SERVER_UNAVAILABLE`` (API-NOTES §1.7) to every data API call, and every HTTP request that
reaches it is counted before anything else sees it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import psycopg
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from dispatcher.core.breaker import BreakerState, CircuitBreaker
from dispatcher.core.worker import DestinationWorker, WorkerSettings
from dispatcher.destinations.context import DestinationContext
from dispatcher.destinations.http import BreakerTransport
from dispatcher.destinations.salesforce.build import build
from dispatcher.mapping.reload import MappingSet
from outbox.resources import resource_dir
from sandboxes.salesforce import FaultKind
from tests.conformance.salesforce_org import BASE_URL, place, salesforce_config

THRESHOLD, BATCH, CONCURRENCY = 3, 2, 4
# What may be claimed at all: a batch per slot, and while the breaker is still closed each of
# the first THRESHOLD - 1 failures frees its slot for one more batch; once open, nothing more.
CLAIMABLE = BATCH * (CONCURRENCY + THRESHOLD - 1)


class CountingOrg:
    """The sandbox behind a counter of the requests that reach it."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.data_calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope["path"]).startswith("/services/data"):
            self.data_calls += 1
        await self.app(scope, receive, send)


async def test_salesforce_breaker_stops_calls_to_a_failing_org(
    shop: psycopg.Connection[Any], sandbox: Starlette, pool: AsyncConnectionPool[Any]
) -> None:
    place(shop, *(f"SO-B{n}" for n in range(40)))
    counting = CountingOrg(sandbox)
    sandbox.state.sandbox.faults.inject(FaultKind.SERVER_UNAVAILABLE, path="/services/data")
    breaker = CircuitBreaker(THRESHOLD, 60.0, time.monotonic)
    transport = BreakerTransport(breaker, httpx.ASGITransport(app=counting))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        context = DestinationContext(
            "salesforce", salesforce_config(), client, pool, MappingSet(resource_dir("mappings"))
        )
        settings = WorkerSettings(batch_size=BATCH, concurrency=CONCURRENCY, poll_interval=0.05)
        worker = DestinationWorker(
            build(context), pool, "w1", settings, wakeup=asyncio.Event(), breaker=breaker
        )
        stopping = asyncio.Event()
        task = asyncio.create_task(worker.run(stopping, grace=5))
        for _ in range(600):  # at most 30 s: a guard against a hang, not a figure under test
            if breaker.state is BreakerState.OPEN and not worker.in_flight:
                break
            await asyncio.sleep(0.05)
        stopping.set()
        await task
    assert breaker.state is BreakerState.OPEN
    assert counting.data_calls <= THRESHOLD + CONCURRENCY
    rows = dict(
        shop.execute(
            "SELECT status::text, count(*) FROM outbox.messages "
            "WHERE destination = 'salesforce' GROUP BY 1"
        ).fetchall()
    )
    shop.commit()
    assert "in_flight" not in rows
    assert rows["pending"] >= 40 - CLAIMABLE  # never claimed once it opened
    counted = shop.execute(
        "SELECT count(*) FILTER (WHERE outcome = 'retry'), "
        "count(*) FILTER (WHERE outcome = 'released') FROM outbox.attempts"
    ).fetchone()
    assert counted is not None
    assert counted[0] <= BATCH * counting.data_calls  # a call carries a batch of two
    assert counted[0] + counted[1] <= CLAIMABLE
