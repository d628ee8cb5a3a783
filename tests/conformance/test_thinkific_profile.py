"""A profile change reaches the learner on the Thinkific sandbox: only the names that changed,
through the outbox and real PostgreSQL (``customer.updated``, docs/thinkific.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from decimal import Decimal
from typing import Any

import psycopg

from dispatcher.core.destination import Result
from outbox.shop import place_order, update_customer
from outbox.shop.models import CartLine, Customer, OrderRequest
from sandboxes.thinkific.store import User
from tests.conformance.test_thinkific_site import (
    Site,
    course_order,
    deliver_all,
    deliver_one,
    enrollment_payload_factory,
    message_factory,
    open_site,
)
from tests.fixtures.catalog import product_factory

ADA = "ada@example.org"


def _user(site: Site, email: str = ADA) -> User:
    user = site.state.store.user_by_email(email)
    assert user is not None
    return user


def _new_calls(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {call: n - before.get(call, 0) for call, n in after.items() if n != before.get(call)}


def _statuses(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT status::text FROM outbox.messages"
        " WHERE destination = 'thinkific' AND event_type = 'customer.updated' ORDER BY id"
    ).fetchall()
    return [status for (status,) in rows]


@asynccontextmanager
async def _enrolled(db_url: str, conn: psycopg.Connection[Any]) -> AsyncIterator[Site]:
    """A fresh sandbox site where Ada, who bought course DL-301, is enrolled."""
    product_factory(conn, "digital_license", sku="DL-301", price="40.00", course_id=1001)
    course_order(conn)
    async with open_site(db_url) as site:
        await deliver_all(site)
        yield site


def _change(conn: psycopg.Connection[Any], **changes: Any) -> None:
    update_customer(conn, ADA, **changes)
    conn.commit()


async def test_thinkific_profile_change_renames_the_enrolled_learner(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    async with _enrolled(db_url, conn) as site:
        before = site.calls()
        _change(conn, first_name="Augusta Ada", last_name="King")
        (outcome,) = await deliver_all(site)
        user, calls = _user(site), _new_calls(before, site.calls())
    assert (outcome.result, outcome.record_id) == (Result.DELIVERED, str(user.id))
    assert (user.first_name, user.last_name, user.email) == ("Augusta Ada", "King", ADA)
    assert calls == {"PUT /users/{id}": 1}  # the user id is remembered: no look-up


async def test_thinkific_profile_change_leaves_names_it_did_not_change(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    async with _enrolled(db_url, conn) as site:
        edited = replace(_user(site), first_name="Countess", company="Analytical Society")
        site.state.store.put_user(edited)  # edits made on the site itself
        _change(conn, last_name="King", marketing_consent=True)
        (outcome,) = await deliver_all(site)
        user = _user(site)
    assert outcome.result is Result.DELIVERED
    assert (user.first_name, user.last_name, user.company) == (
        "Countess",
        "King",
        "Analytical Society",
    )


async def test_thinkific_profile_change_of_a_stranger_is_delivered_without_a_write(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """A customer who never bought a course has no Thinkific user; none is made for a rename."""
    product_factory(conn, "physical", sku="WB-101", price="30.00")
    buyer = Customer(email="grace@example.org", first_name="Grace", last_name="Hopper")
    lines = (CartLine("WB-101", 1, Decimal("30.00")),)
    place_order(conn, OrderRequest("SO-1", buyer, lines, payment_method="card"))
    update_customer(conn, "grace@example.org", first_name="Amazing Grace")
    conn.commit()
    async with open_site(db_url) as site:
        (outcome,) = await deliver_all(site)
        calls, users = site.calls(), dict(site.state.store.users)
    assert (outcome.result, outcome.record_id) == (Result.DELIVERED, None)
    assert calls == {"GET /users": 1}
    assert users == {}
    assert _statuses(conn) == ["delivered"]


async def test_thinkific_waiting_profile_changes_fold_into_one_update(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    async with _enrolled(db_url, conn) as site:
        before = site.calls()
        for change in ({"first_name": "Augusta"}, {"marketing_consent": True}, {"last_name": "K"}):
            _change(conn, **change)
        assert _statuses(conn) == ["superseded", "pending"]
        (outcome,) = await deliver_all(site)
        user, calls = _user(site), _new_calls(before, site.calls())
    assert outcome.result is Result.DELIVERED
    assert (user.first_name, user.last_name) == ("Augusta", "K")
    assert calls == {"PUT /users/{id}": 1}
    assert _statuses(conn) == ["superseded", "delivered"]


def _rename(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A ``customer.updated`` payload (docs/events.md) for the enrollment payload's customer."""
    customer = payload["customer"]
    who = {key: customer[key] for key in ("id", "email", "last_name", "locale", "guest")}
    return {"customer": who, "changes": changes, "version": 2,
            "updated_at": "2026-11-28T08:00:00+00:00"}  # fmt: skip


async def test_thinkific_profile_user_deleted_on_the_site_is_forgotten_not_recreated(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    enrollment = enrollment_payload_factory()
    rename = message_factory(_rename(enrollment, first_name="Augusta"), message_id=2,
                             event_type="customer.updated")  # fmt: skip
    async with open_site(db_url) as site:
        await deliver_one(site, message_factory(enrollment))
        site.state.store.delete_user(_user(site, enrollment["customer"]["email"]).id)
        outcome = await deliver_one(site, rename)
        calls, users = site.calls(), site.state.store.users
    assert (outcome.result, outcome.record_id) == (Result.DELIVERED, None)
    assert (calls["PUT /users/{id}"], calls["GET /users"], users) == (1, 1, {})
    assert conn.execute("SELECT count(*) FROM outbox.thinkific_users").fetchone() == (0,)


async def test_thinkific_profile_errors_keep_the_destination_classification(
    db_url: str,
) -> None:
    """A 5xx on the PUT is retried; a name the site refuses (422) is dead with its words."""
    enrollment = enrollment_payload_factory()
    blank = message_factory(_rename(enrollment, last_name="  "), message_id=2,
                            event_type="customer.updated")  # fmt: skip
    rename = message_factory(_rename(enrollment, last_name="King"), message_id=3,
                             event_type="customer.updated")  # fmt: skip
    async with open_site(db_url) as site:
        await deliver_one(site, message_factory(enrollment))
        site.state.faults.inject("server_error", status=503, count=1, path="/users/", method="PUT")
        failed = await deliver_one(site, rename)
        refused = await deliver_one(site, blank)
    assert (failed.result, failed.http_status, failed.error_code) == (Result.RETRY, 503, "HTTP_503")
    assert (refused.result, refused.error_code) == (Result.DEAD, "UNPROCESSABLE_ENTITY")
    assert "can't be blank" in (refused.error_message or "")
