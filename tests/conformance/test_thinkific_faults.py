"""The Thinkific destination when the site refuses, fails or limits: classified, paced, waited."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from dispatcher.config import destination_config
from dispatcher.core.destination import Result
from dispatcher.core.worker import DestinationWorker, WorkerSettings
from dispatcher.destinations.context import DestinationContext
from dispatcher.destinations.thinkific.budget import SiteBudget
from dispatcher.destinations.thinkific.build import build
from dispatcher.mapping.reload import MappingSet
from outbox import publish
from outbox.resources import resource_dir
from sandboxes.thinkific import SandboxSettings
from tests.conformance.test_thinkific_site import (
    Site,
    deliver_one,
    enrollment_payload_factory,
    message_factory,
    open_site,
    thinkific_options,
)

Handler = Callable[[httpx.Request], httpx.Response]


async def deliver_against(db_url: str, handler: Handler) -> tuple[Any, list[str]]:
    """One new customer's message against a scripted site; the outcome and the calls made."""
    seen: list[str] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path.rsplit('/v1', 1)[1]}")
        return handler(request)

    config = destination_config(type="thinkific", options=thinkific_options())
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(recording)) as http,
        AsyncConnectionPool(db_url, min_size=1, open=False, kwargs={"autocommit": True}) as pool,
    ):
        mappings = MappingSet(resource_dir("mappings"))
        destination = build(DestinationContext("thinkific", config, http, pool, mappings))
        message = message_factory(enrollment_payload_factory())
        (outcome,) = await destination.deliver([message])
    return outcome, seen


async def test_thinkific_422_field_form_is_dead_with_the_site_words_after_a_look_up(
    db_url: str,
) -> None:
    def site(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"items": [], "meta": {"pagination": {}}})
        return httpx.Response(422, json={"errors": {"first_name": ["can't be blank"]}})

    outcome, seen = await deliver_against(db_url, site)
    assert (outcome.result, outcome.http_status) == (Result.DEAD, 422)
    assert outcome.error_code == "UNPROCESSABLE_ENTITY"
    assert "can't be blank" in outcome.error_message
    assert seen == ["POST /users", "GET /users"]


async def test_thinkific_422_list_form_and_404_are_dead_with_the_body(db_url: str) -> None:
    def site(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/users"):
            return httpx.Response(201, json={"id": 7})
        return httpx.Response(404, json={"error": "Record not found."})

    outcome, _ = await deliver_against(db_url, site)
    assert (outcome.result, outcome.error_code) == (Result.DEAD, "RECORD_NOT_FOUND")
    assert "Record not found." in outcome.error_message


async def test_thinkific_401_is_dead_and_the_key_stays_out_of_the_attempt(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THINKIFIC_WRONG_KEY", "not-the-key")
    async with open_site(db_url, api_key_env="THINKIFIC_WRONG_KEY") as site:
        outcome = await deliver_one(site, message_factory(enrollment_payload_factory()))
    assert (outcome.result, outcome.http_status) == (Result.DEAD, 401)
    assert outcome.error_code == "AUTHENTICATION_ERROR"
    assert "Authentication Error" in (outcome.error_message or "")
    assert "not-the-key" not in (outcome.error_message or "")


async def test_thinkific_cloudflare_52x_is_retried(db_url: str) -> None:
    async with open_site(db_url) as site:
        site.state.faults.inject("cloudflare", status=522, count=1)
        outcome = await deliver_one(site, message_factory(enrollment_payload_factory()))
    assert (outcome.result, outcome.http_status, outcome.error_code) == (
        Result.RETRY,
        522,
        "HTTP_522",
    )


async def test_thinkific_429_is_rate_limited_until_the_reset(db_url: str) -> None:
    async with open_site(db_url) as site:
        site.state.faults.inject("rate_limited", count=1)
        outcome = await deliver_one(site, message_factory(enrollment_payload_factory()))
    assert (outcome.result, outcome.http_status) == (Result.RATE_LIMITED, 429)
    assert outcome.retry_after is not None
    assert 0 <= outcome.retry_after <= 60


def frozen_in_the_past() -> float:
    """A site clock stuck in a past minute: its ``ratelimit-reset`` is always already over, so
    a 429 costs the worker a pause of zero seconds instead of up to a minute."""
    return float(int(time.time() // 60) * 60 - 3600 + 30)


async def run_worker(site: Site, until: Callable[[], bool]) -> None:
    settings = WorkerSettings(batch_size=10, concurrency=2, poll_interval=0.05)
    worker = DestinationWorker(
        site.destination, site.pool, "test-worker", settings, wakeup=asyncio.Event()
    )
    stopping = asyncio.Event()
    task = asyncio.create_task(worker.run(stopping, grace=5))
    for _ in range(900):  # at most 45 s: a guard against a hang, not a figure under test
        if until():
            break
        await asyncio.sleep(0.05)
    stopping.set()
    await task


async def test_thinkific_429_storm_ends_with_every_enrollment_and_no_dead_letter(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    payloads = [enrollment_payload_factory() for _ in range(20)]
    for payload in payloads:
        publish(conn, "thinkific", "enrollment.requested", payload)
    conn.commit()
    sandbox = SandboxSettings(rate_limit_per_minute=1_000_000, clock=frozen_in_the_past)

    def settled() -> bool:
        with psycopg.connect(db_url) as c:
            row = c.execute(
                "SELECT count(*) FILTER (WHERE status IN ('delivered', 'dead'))"
                " FROM outbox.messages"
            ).fetchone()
        return row is not None and row[0] == len(payloads)

    async with open_site(db_url, sandbox) as site:
        site.state.faults.inject("rate_limited", probability=0.3)
        await run_worker(site, settled)
        enrolled = {pair["user_email"] for pair in site.enrollments()}
        limited = site.state.traffic.rate_limited
    statuses = conn.execute("SELECT status::text, max(attempts) FROM outbox.messages GROUP BY 1")
    waits = conn.execute(
        "SELECT count(*) FROM outbox.attempts WHERE outcome = 'rate_limited'"
    ).fetchone()
    assert dict(statuses.fetchall()) == {"delivered": 1}  # and not one attempt counted
    assert enrolled == {p["customer"]["email"] for p in payloads}
    assert limited > 0
    assert waits is not None
    assert waits[0] > 0


async def test_thinkific_budget_waits_for_the_next_window_instead_of_overrunning(
    db_url: str,
) -> None:
    if time.time() % 60 > 55:  # keep clear of a window boundary: setup, not a measurement
        await asyncio.sleep(60 - time.time() % 60 + 0.1)
    waits: list[float] = []

    class Waited(Exception):
        pass

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        raise Waited

    async with AsyncConnectionPool(
        db_url, min_size=1, open=False, kwargs={"autocommit": True}
    ) as pool:
        budget = SiteBudget(pool, "thinkific", per_minute=3, max_in_flight=2, sleep=sleep)
        for _ in range(3):
            async with budget.request():
                pass
        with pytest.raises(Waited):
            async with budget.request():
                pass
    assert budget.taken == 3
    assert len(waits) == 1
    assert 0 < waits[0] <= 61


async def test_thinkific_budget_holds_when_the_site_says_none_remain(db_url: str) -> None:
    moment = [1000.0]  # a monotonic clock that only the fake sleep moves
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        moment[0] += seconds

    reset_ms = int((time.time() + 30) * 1000)
    answer = httpx.Response(
        200, headers={"ratelimit-remaining": "0", "ratelimit-reset": str(reset_ms)}
    )
    async with AsyncConnectionPool(
        db_url, min_size=1, open=False, kwargs={"autocommit": True}
    ) as pool:
        budget = SiteBudget(
            pool, "thinkific", per_minute=100, max_in_flight=2, clock=lambda: moment[0], sleep=sleep
        )
        budget.observe(answer)
        async with budget.request():
            pass
    assert len(waits) == 1
    assert 25 < waits[0] <= 30.1
    assert budget.taken == 1
