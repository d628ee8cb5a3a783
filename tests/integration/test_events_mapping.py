"""What checkout publishes is exactly what the field mappings read: no drift between the two."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg

from dispatcher.mapping import load
from outbox.resources import resource_dir
from outbox.shop import place_order
from tests.fixtures.catalog import (
    customer_factory,
    line,
    order_factory,
    product_factory,
    session_factory,
)


def test_checkout_messages_map_to_destination_records(conn: psycopg.Connection[Any]) -> None:
    book = product_factory(conn, "physical")
    course = product_factory(conn, "digital_license", price="40.00", course_id=1001)
    workshop = product_factory(conn, "paid_event", price="150.00")
    webinar = product_factory(conn, "free_event")
    order = order_factory(
        line(book, 2, tax=Decimal("6.00")),
        line(course, 10),
        line(workshop, 1, event_session_id=session_factory(conn, workshop["id"])),
        line(webinar, 1, event_session_id=session_factory(conn, webinar["id"])),
        customer=customer_factory(organisation="Northgate Clinic", marketing_consent=True),
    )
    place_order(conn, order)
    entries = dict(
        conn.execute("SELECT sku, salesforce_pricebook_entry_id FROM commerce.products").fetchall()
    )

    def lookup(table: str, key: str) -> str | None:
        return {"pricebook_entry": entries, "pricebook": {"standard": "01s000000000001AAA"}}[
            table
        ].get(key)

    mappings = load(resource_dir("mappings"))
    messages = conn.execute(
        "SELECT destination, event_type, payload FROM outbox.messages ORDER BY id"
    ).fetchall()
    produced: dict[str, list[str]] = {}
    for destination, event_type, payload in messages:
        mapped = mappings.apply(destination, event_type, payload, lookup)
        produced.setdefault(event_type, []).extend(r.object_name for r in mapped.records)
    placed = produced["order.placed"]
    assert placed.index("Account") < placed.index("Contact") < placed.index("Order")
    assert placed.index("Order") < placed.index("OrderItem")
    assert placed.count("OrderItem") == 4
    assert "Event_Registration__c" in produced["event.registered"]
    assert produced["enrollment.requested"]  # the Thinkific user and enrollment
