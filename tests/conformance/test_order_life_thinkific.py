"""Access follows money: a refunded or cancelled course is expired on the Thinkific sandbox."""

from __future__ import annotations

from typing import Any

import psycopg

from dispatcher.destinations.base import Result
from outbox import cancel_order, record_payment, refund
from tests.conformance.test_thinkific_site import course_order, deliver_all, open_site
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
