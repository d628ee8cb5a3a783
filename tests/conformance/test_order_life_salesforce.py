"""An order's life after checkout, delivered to the Salesforce sandbox org through the mapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

from dispatcher.core.destination import Result
from outbox.shop import (
    cancel_order,
    place_order,
    record_payment,
    record_shipment,
    refund,
    update_customer,
)
from outbox.shop.models import CartLine, Customer, OrderRequest
from tests.conformance.salesforce_org import Org, place


def _order(org: Org, number: str) -> dict[str, Any]:
    (found,) = [o for o in org.records("Order") if o["Storefront_Order_Number__c"] == number]
    return found


async def _deliver_one_at_a_time(org: Org) -> list[str]:
    """Deliver until nothing is due, one message per turn; the Order's Status after each."""
    history = []
    while outcomes := await org.deliver_due(limit=1):
        assert [o.result for o in outcomes] == [Result.DELIVERED], outcomes
        history.append(_order(org, "SO-1")["Status"])
    return history


async def test_order_life_status_parcels_and_refund_reach_the_order(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    place(shop, "SO-1")  # 2 workbooks (line 1), one course (line 2): 100.00
    record_payment(shop, "SO-1", "card", "100.00", "pi_1")
    record_shipment(shop, "SO-1", "PCL-1", {1: 1}, "UPS", "1Z001")
    record_shipment(shop, "SO-1", "PCL-2", {1: 1}, "DHL", "JD002")
    refund(shop, "SO-1", "RF-1", "30.00", {1: 1})
    shop.commit()
    history = await _deliver_one_at_a_time(org)
    assert history == ["Draft", "Paid", "Partially Shipped", "Shipped", "Shipped"]
    order = _order(org, "SO-1")
    assert (order["Amount_Paid__c"], order["Refunded_Amount__c"]) == (100, 30)
    parcels = sorted(org.records("Shipment__c"), key=lambda s: s["Storefront_Shipment_Id__c"])
    assert [(s["Tracking_Number__c"], s["Carrier__c"], s["Units__c"]) for s in parcels] == [
        ("1Z001", "UPS", 1),
        ("JD002", "DHL", 1),
    ]
    assert {s["Order__c"] for s in parcels} == {order["Id"]}


async def test_order_life_partially_shipped_order_shows_its_parcel(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    place(shop, "SO-1")
    record_shipment(shop, "SO-1", "PCL-1", {1: 1}, "UPS", "1Z001")
    shop.commit()
    # One turn: the order's run, placed then shipped, in two rounds.
    assert [o.result for o in await org.deliver_due()] == [Result.DELIVERED, Result.DELIVERED]
    assert await org.deliver_due() == []
    assert _order(org, "SO-1")["Status"] == "Partially Shipped"
    assert [s["Tracking_Number__c"] for s in org.records("Shipment__c")] == ["1Z001"]


def _event_order(conn: psycopg.Connection[Any]) -> None:
    row = conn.execute("SELECT id FROM commerce.products WHERE sku = 'EV-201'").fetchone()
    assert row is not None
    session = conn.execute(
        "INSERT INTO commerce.event_sessions (product_id, name, starts_at, capacity)"
        " VALUES (%s, 'Wound care workshop, Leeds', %s, 10) RETURNING id",
        (row[0], datetime.now(UTC) + timedelta(days=30)),
    ).fetchone()
    assert session is not None
    buyer = Customer(email="grace@example.org", first_name="Grace", last_name="Hopper")
    lines = (
        CartLine("EV-201", 1, Decimal("150.00"), event_session_id=session[0]),
        CartLine("DL-301", 1, Decimal("40.00")),
    )
    place_order(conn, OrderRequest("SO-1", buyer, lines, payment_method="card"))


async def test_order_life_cancelled_order_cancels_its_registration_and_course_record(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    _event_order(shop)
    record_payment(shop, "SO-1", "card", "190.00", "pi_1")
    cancel_order(shop, "SO-1", "the workshop moved")
    shop.commit()
    while outcomes := await org.deliver_due():
        assert {o.result for o in outcomes} == {Result.DELIVERED}, outcomes
    order = _order(org, "SO-1")
    assert (order["Status"], order["Cancellation_Reason__c"]) == ("Cancelled", "the workshop moved")
    (registration,) = org.records("Event_Registration__c")
    assert registration["Status__c"] == "Cancelled"
    (enrollment,) = org.records("Course_Enrollment__c")
    assert enrollment["Status__c"] == "Revoked"


async def test_order_life_burst_of_profile_changes_writes_the_contact_once(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    place(shop, "SO-1", email="ada@example.org")
    await org.deliver_due()
    for n in range(1, 21):
        update_customer(shop, "ada@example.org", first_name=f"Ada {n}", marketing_consent=n > 10)
        shop.commit()
    statuses = shop.execute(
        "SELECT status::text, count(*) FROM outbox.messages"
        " WHERE event_type = 'customer.updated' AND destination = 'salesforce' GROUP BY 1"
    ).fetchall()
    assert dict(statuses) == {"superseded": 19, "pending": 1}
    assert [o.result for o in await org.deliver_due()] == [Result.DELIVERED]
    (contact,) = org.records("Contact")
    assert (contact["FirstName"], contact["Marketing_Consent__c"]) == ("Ada 20", "Opted In")
    assert contact["LastName"] == "Lovelace SO-1"
    writes = org.sandbox.store.writes["Contact"][contact["Storefront_Customer_Id__c"]]
    assert (writes.created, writes.updated) == (1, 1)


async def test_order_life_profile_change_sends_only_changed_fields(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    place(shop, "SO-1", email="ada@example.org")
    await org.deliver_due()
    address = {"line1": "1 Analytical Way", "line2": "Flat 2", "city": "London",
               "postal_code": "N1 9GU", "country": "GB"}  # fmt: skip
    update_customer(shop, "ada@example.org", address=address, preferences={"newsletter": True})
    shop.commit()
    assert [o.result for o in await org.deliver_due()] == [Result.DELIVERED]
    (contact,) = org.records("Contact")
    assert contact["MailingStreet"] == "1 Analytical Way, Flat 2"
    assert (contact["MailingCity"], contact["MailingCountry"]) == ("London", "GB")
    assert contact["Newsletter__c"] is True
    assert (contact["FirstName"], contact["Preferred_Language__c"]) == ("Ada", "English")
    assert contact["Marketing_Consent__c"] == "Opted Out"


async def test_order_life_guest_who_registers_stays_one_contact(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    place(shop, "SO-1", email="ada@example.org", guest=True)
    place(shop, "SO-2", email="Ada@Example.org")
    update_customer(shop, "ada@example.org", first_name="Augusta Ada")
    shop.commit()
    while outcomes := await org.deliver_due():
        assert {o.result for o in outcomes} == {Result.DELIVERED}, outcomes
    (contact,) = org.records("Contact")
    assert contact["FirstName"] == "Augusta Ada"
    assert {o["BillToContactId"] for o in org.records("Order")} == {contact["Id"]}
    guest = shop.execute("SELECT is_guest FROM commerce.customers").fetchall()
    assert guest == [(False,)]
