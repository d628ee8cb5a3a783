"""The Thinkific destination against the sandbox site and real PostgreSQL: enrolling once.

Also the building blocks of the other Thinkific modules: ``open_site`` (a sandbox site, an
outbox database pool and the destination as the daemon builds it), payload factories, the
sandbox's counters, a course order and the worker's claim-deliver-record turn.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import psycopg
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette

from dispatcher.config import destination_config
from dispatcher.core import claim, record
from dispatcher.core.destination import Message, Outcome, Result
from dispatcher.core.record import Finished
from dispatcher.core.retry import RetryPolicy, decide
from dispatcher.core.worker import send_in_key_order
from dispatcher.destinations.context import DestinationContext
from dispatcher.destinations.thinkific import ThinkificDestination
from dispatcher.destinations.thinkific.build import build
from dispatcher.mapping.reload import MappingSet
from outbox.resources import resource_dir
from outbox.shop import place_order
from outbox.shop.models import CartLine, Customer, OrderRequest
from sandboxes.thinkific import API_BASE, SandboxSettings, SandboxState, create_app

SITE_URL = "https://sandbox.thinkific.test"
KEY_ENV = "THINKIFIC_TEST_API_KEY"
COURSE = 1001


@dataclass(frozen=True, slots=True)
class Site:
    app: Starlette
    http: httpx.AsyncClient
    pool: AsyncConnectionPool[Any]
    destination: ThinkificDestination

    @property
    def state(self) -> SandboxState:
        state: SandboxState = self.app.state.sandbox
        return state

    def calls(self) -> dict[str, int]:
        """Answered calls by endpoint, all statuses together."""
        counted: dict[str, int] = {}
        for (endpoint, _status), count in self.state.traffic.calls.items():
            counted[endpoint] = counted.get(endpoint, 0) + count
        return counted

    def enrollments(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.state.enrollment_report()["items"]
        return items


def thinkific_options(**overrides: Any) -> dict[str, Any]:
    os.environ.setdefault(KEY_ENV, SandboxSettings().api_key)  # the sandbox's public key
    return {
        "base_url": SITE_URL + API_BASE,
        "subdomain": "sandbox",
        "api_key_env": KEY_ENV,
        **overrides,
    }


@asynccontextmanager
async def open_site(
    db_url: str, settings: SandboxSettings | None = None, **options: Any
) -> AsyncIterator[Site]:
    """A fresh sandbox site and the destination built by ``build`` as the daemon would."""
    app = create_app(settings or SandboxSettings(random_seed=3))
    config = destination_config(type="thinkific", options=thinkific_options(**options))
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http,
        AsyncConnectionPool(
            db_url, min_size=1, max_size=4, open=False, kwargs={"autocommit": True}
        ) as pool,
    ):
        mappings = MappingSet(resource_dir("mappings"))
        context = DestinationContext("thinkific", config, http, pool, mappings)
        yield Site(app, http, pool, build(context))


def customer_factory(email: str | None = None, organisation: str | None = None) -> dict[str, Any]:
    return {
        "id": f"c-{uuid.uuid4().hex[:6]}",
        "email": email or f"{uuid.uuid4().hex[:10]}@example.org",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "organisation": organisation,
        "locale": "en_US",
        "marketing_consent": True,
        "guest": False,
    }


def enrollment_payload_factory(
    customer: dict[str, Any] | None = None,
    *,
    course_id: int = COURSE,
    seats: int = 1,
    expiry_date: str | None = "2027-11-25T10:00:00+00:00",
) -> dict[str, Any]:
    """An ``enrollment.requested`` payload as docs/events.md shows it."""
    customer = customer or customer_factory()
    return {
        "enrollment_id": f"SO-{uuid.uuid4().hex[:6]}-1",
        "customer": customer,
        "order_number": "SO-1001",
        "course_id": course_id,
        "seats": seats,
        "organisation": customer["organisation"],
        "product": {"sku": "DL-301", "name": "Infection control online"},
        "activated_at": "2026-11-25T10:00:00+00:00",
        "expiry_date": expiry_date,
    }


def message_factory(
    payload: dict[str, Any],
    *,
    message_id: int = 1,
    attempt: int = 1,
    event_type: str = "enrollment.requested",
) -> Message:
    return Message(
        id=message_id,
        event_type=event_type,
        ordering_key=None,
        idempotency_key=f"{event_type}:{message_id}",
        correlation_id=None,
        payload=payload,
        attempt=attempt,
        created_at=datetime.now(UTC),
    )


async def deliver_one(site: Site, message: Message) -> Outcome:
    (outcome,) = await site.destination.deliver([message])
    return outcome


def course_order(conn: psycopg.Connection[Any], number: str = "SO-1") -> None:
    """Ada buys course DL-301 (make the product first) and the storefront commits."""
    buyer = Customer(email="ada@example.org", first_name="Ada", last_name="Lovelace")
    lines = (CartLine("DL-301", 1, Decimal("40.00")),)
    place_order(conn, OrderRequest(number, buyer, lines, payment_method="card"))
    conn.commit()


async def deliver_due(site: Site) -> list[Outcome]:
    """One turn of the worker: claim what is due, deliver (a key's run in order, round by
    round, as the worker sends it), record. Outcomes in the order sent."""
    async with site.pool.connection() as conn:
        batch = await claim.claim(
            conn, destination="thinkific", worker="w", limit=50, lease_seconds=60
        )
    sent: list[Outcome] = []

    async def send(messages: Sequence[Message]) -> dict[int, Outcome]:
        outcomes = list(await site.destination.deliver(messages))
        sent.extend(outcomes)
        return {o.message_id: o for o in outcomes}

    outcomes, untried = await send_in_key_order(send, batch)
    now = datetime.now(UTC)
    finished = [
        Finished(m, decide(outcomes[m.id], m.attempt, RetryPolicy(), random.Random(0)),
                 outcomes[m.id].http_status, outcomes[m.id].record_id, now, now)
        for m in batch if m.id in outcomes
    ]  # fmt: skip
    async with site.pool.connection() as conn:
        await record.finish_batch(conn, finished, worker="w", untried=untried)
    return sent


async def deliver_all(site: Site) -> list[Outcome]:
    """Turns of the worker until nothing is due; every outcome, in order."""
    delivered = []
    while outcomes := await deliver_due(site):
        delivered += outcomes
    return delivered


async def test_thinkific_new_customer_is_enrolled_with_full_access_in_two_calls(
    db_url: str,
) -> None:
    async with open_site(db_url) as site:
        outcome = await deliver_one(site, message_factory(enrollment_payload_factory()))
        (pair,) = site.enrollments()
        assert outcome.result is Result.DELIVERED
        assert outcome.record_id == str(pair["enrollments"][0]["id"])
        assert pair["enrollments"][0]["is_free_trial"] is False
        assert pair["enrollments"][0]["expiry_date"] == "2027-11-25T10:00:00Z"
        assert site.calls() == {"POST /users": 1, "POST /enrollments": 1}


async def test_thinkific_same_message_three_times_gives_one_enrollment(db_url: str) -> None:
    payload = enrollment_payload_factory()
    async with open_site(db_url) as site:
        outcomes = [
            await deliver_one(site, message_factory(payload, attempt=attempt))
            for attempt in (1, 2, 3)
        ]
        (pair,) = site.enrollments()
    assert {o.result for o in outcomes} == {Result.DELIVERED}
    assert len({o.record_id for o in outcomes}) == 1
    assert (len(pair["enrollments"]), pair["created"]) == (1, 1)


async def test_thinkific_redelivery_after_memory_loss_finds_the_enrollment(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """A message cut short by a crash comes back with no trace of what it did on the site."""
    payload = enrollment_payload_factory()
    async with open_site(db_url) as site:
        first = await deliver_one(site, message_factory(payload))
        conn.execute("TRUNCATE outbox.thinkific_users, outbox.thinkific_enrollments")
        conn.commit()
        again = await deliver_one(site, message_factory(payload))
        (pair,) = site.enrollments()
    assert again.result is Result.DELIVERED
    assert again.record_id == first.record_id
    assert (len(pair["enrollments"]), pair["created"], pair["updated"]) == (1, 1, 0)


async def test_thinkific_existing_user_costs_one_look_up(db_url: str) -> None:
    customer = customer_factory()
    async with open_site(db_url) as site:
        made = await site.http.post(
            f"{SITE_URL}{API_BASE}/users",
            json={"first_name": "Ada", "last_name": "L", "email": customer["email"].upper()},
            headers={"X-Auth-API-Key": SandboxSettings().api_key, "X-Auth-Subdomain": "sandbox"},
        )
        outcome = await deliver_one(site, message_factory(enrollment_payload_factory(customer)))
        calls = site.calls()
    assert made.status_code == 201
    assert outcome.result is Result.DELIVERED
    assert calls["GET /users"] == 1
    assert calls["POST /enrollments"] == 1


async def test_thinkific_returning_customer_costs_one_call(db_url: str) -> None:
    customer = customer_factory()
    async with open_site(db_url) as site:
        await deliver_one(site, message_factory(enrollment_payload_factory(customer)))
        before = site.calls()
        second = enrollment_payload_factory(customer, course_id=1002)
        outcome = await deliver_one(site, message_factory(second, message_id=2))
        after = site.calls()
    assert outcome.result is Result.DELIVERED
    assert sum(after.values()) - sum(before.values()) == 1
    assert after["POST /enrollments"] - before["POST /enrollments"] == 1


async def test_thinkific_renewal_extends_the_enrollment_instead_of_a_second(db_url: str) -> None:
    customer = customer_factory()
    renewal = enrollment_payload_factory(customer, expiry_date="2028-11-25T10:00:00+00:00")
    async with open_site(db_url) as site:
        first = await deliver_one(site, message_factory(enrollment_payload_factory(customer)))
        second = await deliver_one(site, message_factory(renewal, message_id=2))
        (pair,) = site.enrollments()
        calls = site.calls()
    assert second.record_id == first.record_id
    assert (pair["created"], pair["updated"]) == (1, 1)
    assert pair["enrollments"][0]["expiry_date"] == "2028-11-25T10:00:00Z"
    assert calls["PUT /enrollments/{id}"] == 1


async def test_thinkific_batch_runs_concurrently_and_fails_per_message(db_url: str) -> None:
    good = [enrollment_payload_factory() for _ in range(6)]
    unknown_course = enrollment_payload_factory(course_id=9999)
    unmappable = {**enrollment_payload_factory(), "course_id": "not a number"}
    payloads = [*good, unknown_course, unmappable]
    batch = [message_factory(p, message_id=n) for n, p in enumerate(payloads, 1)]
    async with open_site(db_url, max_in_flight=4) as site:
        site.state.faults.inject("latency", latency_ms=20)  # so that requests overlap
        outcomes = await site.destination.deliver(batch)
        peak = site.state.traffic.peak_in_flight
    assert [o.message_id for o in outcomes] == list(range(1, 9))
    assert [o.result for o in outcomes[:6]] == [Result.DELIVERED] * 6
    assert (outcomes[6].result, outcomes[6].error_code) == (Result.DEAD, "UNPROCESSABLE_ENTITY")
    assert "Course could not be found." in (outcomes[6].error_message or "")
    assert (outcomes[7].result, outcomes[7].error_code) == (Result.DEAD, "MAPPING_ERROR")
    assert 1 < peak <= 4
