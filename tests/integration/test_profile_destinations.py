"""A profile change is published to every destination that keeps a changed field, and waiting
changes fold per destination (``outbox.supersede_waiting_profile_changes``), on real PostgreSQL."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from outbox.shop import place_order, update_customer
from tests.fixtures.catalog import line, order_factory, product_factory


@pytest.fixture
def email(conn: psycopg.Connection[Any]) -> str:
    """A customer who bought a workbook."""
    order = order_factory(line(product_factory(conn, "physical")))
    place_order(conn, order)
    conn.commit()
    return order.customer.email


def _published(conn: psycopg.Connection[Any], destination: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT idempotency_key, status::text, payload -> 'changes' FROM outbox.messages"
        " WHERE event_type = 'customer.updated' AND destination = %s ORDER BY id",
        (destination,),
    ).fetchall()


def test_update_customer_sends_thinkific_only_the_names(
    conn: psycopg.Connection[Any], email: str
) -> None:
    address = {"line1": "1 Analytical Way", "city": "London", "country": "GB"}
    consent = update_customer(conn, email, marketing_consent=True, address=address)
    conn.commit()
    assert _published(conn, "thinkific") == []  # nothing Thinkific keeps changed
    renamed = update_customer(conn, email, first_name="Augusta", locale="fr_FR")
    conn.commit()
    key = f"customer.updated:c-{renamed.customer_id}:2:thinkific"
    assert _published(conn, "thinkific") == [(key, "pending", {"first_name": "Augusta"})]
    assert (len(consent.message_ids), len(renamed.message_ids)) == (1, 2)
    assert len(_published(conn, "salesforce")) == 2


def test_update_customer_waiting_changes_fold_per_destination(
    conn: psycopg.Connection[Any], email: str
) -> None:
    for change in ({"first_name": "Augusta"}, {"marketing_consent": True}, {"last_name": "King"}):
        update_customer(conn, email, **change)
        conn.commit()
    thinkific = _published(conn, "thinkific")
    salesforce = _published(conn, "salesforce")
    assert [status for _, status, _ in thinkific] == ["superseded", "pending"]
    assert thinkific[-1][2] == {"first_name": "Augusta", "last_name": "King"}
    assert [status for _, status, _ in salesforce] == ["superseded", "superseded", "pending"]
    assert salesforce[-1][2] == {"first_name": "Augusta", "marketing_consent": True,
                                 "last_name": "King"}  # fmt: skip
