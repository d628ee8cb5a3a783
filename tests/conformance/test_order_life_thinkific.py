"""Access follows money: a refunded or cancelled course is expired on the Thinkific sandbox."""

from __future__ import annotations

import random
from typing import Any

import psycopg
import pytest

from dispatcher.core.destination import Result
from outbox.shop import cancel_order, record_payment, refund
from tests.conformance.test_thinkific_site import course_order, deliver_all, deliver_due, open_site
from tests.fixtures.catalog import product_factory


async def test_order_life_refund_expires_the_course_and_keeps_its_history(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    product_factory(conn, "digital_license", sku="DL-301", price="40.00", course_id=1001)
    course_order(conn)
    record_payment(conn, "SO-1", "card", "40.00", "pi_1")
    refund(conn, "SO-1", "RF-1", "40.00", {1: 1})
    conn.commit()
    async with open_site(db_url) as site:
        outcomes = await deliver_all(site)
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
    course_order(conn)
    cancel_order(conn, "SO-1", "bought by mistake")
    conn.commit()
    async with open_site(db_url) as site:
        await deliver_all(site)
        before = sum(site.calls().values())
        conn.execute(
            "UPDATE outbox.messages SET status = 'pending', next_attempt_at = now()"
            " WHERE event_type = 'enrollment.revoked'"
        )
        conn.commit()
        (again,) = await deliver_all(site)
        after = sum(site.calls().values())
        (pair,) = site.enrollments()
    assert again.result is Result.DELIVERED
    assert after == before
    assert pair["enrollments"][0]["expired"] is True


async def test_order_life_revocation_of_a_course_never_enrolled_is_a_no_op(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    product_factory(conn, "digital_license", sku="DL-301", price="40.00", course_id=1001)
    course_order(conn)
    cancel_order(conn, "SO-1", "bought by mistake")
    conn.execute(
        "UPDATE outbox.messages SET status = 'cancelled' WHERE event_type = 'enrollment.requested'"
    )
    conn.commit()
    async with open_site(db_url) as site:
        (outcome,) = await deliver_all(site)
        enrollments = site.enrollments()
    assert (outcome.result, outcome.record_id) == (Result.DELIVERED, None)
    assert enrollments == []


def _set_enrollment_dead(conn: psycopg.Connection[Any]) -> None:
    """The enrollment died (say the site refused it) before its revocation was delivered."""
    conn.execute(
        "UPDATE outbox.messages SET status = 'dead', last_error_code = 'UNPROCESSABLE_ENTITY'"
        " WHERE event_type = 'enrollment.requested'"
    )
    conn.commit()


async def test_order_life_dead_enrollment_retried_after_its_refund_grants_nothing(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    product_factory(conn, "digital_license", sku="DL-301", price="40.00", course_id=1001)
    course_order(conn)
    record_payment(conn, "SO-1", "card", "40.00", "pi_1")
    refund(conn, "SO-1", "RF-1", "40.00", {1: 1})
    conn.commit()
    _set_enrollment_dead(conn)
    async with open_site(db_url) as site:
        (revoked,) = await deliver_all(site)
        (retried,) = conn.execute("SELECT outbox.retry_dead('thinkific')").fetchone() or (0,)
        conn.commit()
        (late,) = await deliver_all(site)
        enrollments = site.enrollments()
        calls = site.calls()
    assert (revoked.result, revoked.record_id) == (Result.DELIVERED, None)
    assert retried == 1
    assert (late.result, late.record_id) == (Result.DELIVERED, None)
    assert enrollments == []
    assert "POST /enrollments" not in calls


async def test_order_life_enrollment_replayed_after_its_cancellation_stays_expired(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    product_factory(conn, "digital_license", sku="DL-301", price="40.00", course_id=1001)
    course_order(conn)
    cancel_order(conn, "SO-1", "bought by mistake")
    conn.commit()
    async with open_site(db_url) as site:
        await deliver_all(site)
        before = site.calls()
        conn.execute(
            "SELECT outbox.replay('thinkific', now() - interval '1 hour', now(),"
            " 'enrollment.requested')"
        )
        conn.commit()
        (replayed,) = await deliver_all(site)
        after = site.calls()
        (pair,) = site.enrollments()
    assert (replayed.result, replayed.record_id) == (Result.DELIVERED, None)
    assert after == before
    assert pair["enrollments"][0]["expired"] is True


async def test_order_life_new_purchase_after_a_refund_enrolls_again(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """A revoked line blocks that line only: buying the course again grants it again."""
    product_factory(conn, "digital_license", sku="DL-301", price="40.00", course_id=1001)
    course_order(conn, "SO-1")
    cancel_order(conn, "SO-1", "bought by mistake")
    conn.commit()
    async with open_site(db_url) as site:
        await deliver_all(site)
        course_order(conn, "SO-2")
        (again,) = await deliver_all(site)
        (pair,) = site.enrollments()
    assert again.result is Result.DELIVERED
    assert again.record_id == str(pair["enrollments"][0]["id"])
    assert pair["enrollments"][0]["expired"] is False


async def test_order_life_refund_of_one_purchase_keeps_the_other_purchase_s_access(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """Two orders of one course, both enrolled; refunding the first leaves the second's."""
    product_factory(conn, "digital_license", sku="DL-301", price="40.00", course_id=1001)
    course_order(conn, "SO-1")
    course_order(conn, "SO-2")
    async with open_site(db_url) as site:
        await deliver_all(site)
        cancel_order(conn, "SO-1", "bought twice")
        conn.commit()
        (revoked,) = await deliver_all(site)
        (pair,) = site.enrollments()
    assert revoked.result is Result.DELIVERED
    (enrollment,) = pair["enrollments"]
    assert enrollment["expired"] is False


def _kill_oldest_waiting_enrollment(conn: psycopg.Connection[Any]) -> None:
    conn.execute(
        "UPDATE outbox.messages SET status = 'dead', last_error_code = 'HTTP_422'"
        " WHERE id = (SELECT min(id) FROM outbox.messages WHERE destination = 'thinkific'"
        " AND event_type = 'enrollment.requested' AND status = 'pending')"
    )
    conn.commit()


@pytest.mark.parametrize("seed", range(6))
async def test_order_life_access_follows_money_in_any_delivery_order(
    db_url: str, conn: psycopg.Connection[Any], seed: int
) -> None:
    """Orders of one course placed, refunded or cancelled, deliveries interleaved at random,
    enrollments dying on the way and retried at the end, then everything replayed: the course
    is open on the site exactly when some order of it is still paid for."""
    rng = random.Random(seed)
    product_factory(conn, "digital_license", sku="DL-301", price="40.00", course_id=1001)
    orders = [f"SO-{n}" for n in range(1, rng.randint(2, 4))]
    taken_back = {number for number in orders if rng.random() < 0.6}
    steps = [("place", n) for n in orders] + [("take back", n) for n in sorted(taken_back)]
    steps.sort(key=lambda step: (orders.index(step[1]) + rng.random() * 3, step[0] != "place"))
    async with open_site(db_url) as site:
        placed: set[str] = set()
        due: set[str] = set()  # take-backs whose turn has come; an order's waits for it
        for action, number in steps:
            if action == "place":
                course_order(conn, number)
                placed.add(number)
            else:
                due.add(number)
            if number in placed and number in due:
                _take_back(conn, number, rng)
                due.discard(number)
            if rng.random() < 0.4:
                _kill_oldest_waiting_enrollment(conn)
            if rng.random() < 0.6:
                await deliver_due(site)
        await deliver_all(site)
        conn.execute("SELECT outbox.retry_dead('thinkific')")
        conn.commit()
        await deliver_all(site)
        after_retry = _open(site)
        conn.execute("SELECT outbox.replay('thinkific', now() - interval '1 hour', now())")
        conn.commit()
        await deliver_all(site)
        after_replay = _open(site)
    paid = set(orders) - taken_back
    assert (after_retry, after_replay) == (bool(paid), bool(paid)), (orders, taken_back, steps)


def _take_back(conn: psycopg.Connection[Any], number: str, rng: random.Random) -> None:
    """A refund of the paid course, or a cancellation of the order."""
    if rng.random() < 0.5:
        record_payment(conn, number, "card", "40.00", f"pi_{number}")
        refund(conn, number, f"RF-{number}", "40.00", {1: 1})
    else:
        cancel_order(conn, number, "changed their mind")
    conn.commit()


def _open(site: Any) -> bool:
    """Whether the learner has full access to the course on the site now."""
    return any(
        not e["expired"] and not e["is_free_trial"]
        for pair in site.enrollments()
        for e in pair["enrollments"]
    )
