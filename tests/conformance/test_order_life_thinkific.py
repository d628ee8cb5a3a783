"""Access follows money: a refunded or cancelled course is expired on the Thinkific sandbox."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg

from dispatcher import claim, record
from dispatcher.destinations.base import Outcome, Result
from dispatcher.record import Finished
from dispatcher.retry import RetryPolicy, decide
from outbox import cancel_order, place_order, record_payment, refund
from outbox.models import CartLine, Customer, OrderRequest
from tests.conformance.test_thinkific_site import Site, open_site
from tests.fixtures.catalog import product_factory


def _course_order(conn: psycopg.Connection[Any], number: str = "SO-1") -> None:
    buyer = Customer(email="ada@example.org", first_name="Ada", last_name="Lovelace")
    lines = (CartLine("DL-301", 1, Decimal("40.00")),)
    place_order(conn, OrderRequest(number, buyer, lines, payment_method="card"))
    conn.commit()


async def _deliver_due(site: Site) -> list[Outcome]:
    """One turn of the worker: claim what is due, deliver, record."""
    async with site.pool.connection() as conn:
        batch = await claim.claim(
            conn, destination="thinkific", worker="w", limit=50, lease_seconds=60
        )
    outcomes = {o.message_id: o for o in await site.destination.deliver(batch)}
    now = datetime.now(UTC)
    finished = [
        Finished(m, decide(outcomes[m.id], m.attempt, RetryPolicy(), random.Random(0)),
                 outcomes[m.id].http_status, outcomes[m.id].record_id, now, now)
        for m in batch
    ]  # fmt: skip
    async with site.pool.connection() as conn:
        await record.finish(conn, finished, worker="w")
    return list(outcomes.values())


async def _deliver_all(site: Site) -> list[Outcome]:
    delivered = []
    while outcomes := await _deliver_due(site):
        delivered += outcomes
    return delivered


async def test_order_life_refund_expires_the_course_and_keeps_its_history(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    product_factory(conn, "digital_license", sku="DL-301", price="40.00", course_id=1001)
    _course_order(conn)
    record_payment(conn, "SO-1", "card", "40.00", "pi_1")
    refund(conn, "SO-1", "RF-1", "40.00", {1: 1})
    conn.commit()
    async with open_site(db_url) as site:
        outcomes = await _deliver_all(site)
        (pair,) = site.enrollments()
        calls = site.calls()
    assert [o.result for o in outcomes] == [Result.DELIVERED, Result.DELIVERED]
    assert outcomes[0].record_id == outcomes[1].record_id
    (enrollment,) = pair["enrollments"]
    assert enrollment["expired"] is True
    assert enrollment["is_free_trial"] is False
    assert (pair["created"], pair["updated"]) == (1, 1)
    assert calls["PUT /enrollments/{id}"] == 1


async def test_order_life_revocation_redelivered_costs_no_call(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    product_factory(conn, "digital_license", sku="DL-301", price="40.00", course_id=1001)
    _course_order(conn)
    cancel_order(conn, "SO-1", "bought by mistake")
    conn.commit()
    async with open_site(db_url) as site:
        await _deliver_all(site)
        before = sum(site.calls().values())
        conn.execute(
            "UPDATE outbox.messages SET status = 'pending', next_attempt_at = now()"
            " WHERE event_type = 'enrollment.revoked'"
        )
        conn.commit()
        (again,) = await _deliver_all(site)
        after = sum(site.calls().values())
        (pair,) = site.enrollments()
    assert again.result is Result.DELIVERED
    assert after == before
    assert pair["enrollments"][0]["expired"] is True


async def test_order_life_revocation_of_a_course_never_enrolled_is_a_no_op(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    product_factory(conn, "digital_license", sku="DL-301", price="40.00", course_id=1001)
    _course_order(conn)
    cancel_order(conn, "SO-1", "bought by mistake")
    conn.execute(
        "UPDATE outbox.messages SET status = 'cancelled' WHERE event_type = 'enrollment.requested'"
    )
    conn.commit()
    async with open_site(db_url) as site:
        (outcome,) = await _deliver_all(site)
        enrollments = site.enrollments()
    assert (outcome.result, outcome.record_id) == (Result.DELIVERED, None)
    assert enrollments == []
