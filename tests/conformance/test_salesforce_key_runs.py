"""A key's run of messages written to the Salesforce sandbox in one composite call, and what
happens when Salesforce refuses a record in the middle of it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from dispatcher.core import claim
from dispatcher.core.destination import Message, Outcome, Result
from dispatcher.core.worker import send_in_key_order
from outbox.shop import record_payment, record_shipment
from tests.conformance.salesforce_org import Org, place


def _order(org: Org, number: str) -> dict[str, Any]:
    (found,) = [o for o in org.records("Order") if o["Storefront_Order_Number__c"] == number]
    return found


def _life(shop: psycopg.Connection[Any], number: str, *, shipped: bool = True) -> None:
    place(shop, number)  # 2 workbooks (line 1), one course (line 2): 100.00
    record_payment(shop, number, "card", "100.00", f"pi_{number}")
    if shipped:
        record_shipment(shop, number, f"PCL-{number}", {1: 2}, "UPS", f"1Z-{number}")
    shop.commit()


def _messages(shop: psycopg.Connection[Any], number: str) -> list[tuple[str, str, int]]:
    rows = shop.execute(
        "SELECT event_type, status, attempts FROM outbox.messages"
        " WHERE destination = 'salesforce' AND payload -> 'order' ->> 'number' = %s ORDER BY id",
        (number,),
    ).fetchall()
    shop.commit()
    return [(str(e), str(s), int(a)) for e, s, a in rows]


async def _warm(org: Org, shop: psycopg.Connection[Any]) -> None:
    """Sign in and read the price book on another order, so the counts below are the run's."""
    place(shop, "SO-0")
    assert [o.result for o in await org.deliver_due()] == [Result.DELIVERED]


async def _deliver_in_rounds(org: Org) -> list[Outcome]:
    """The round-by-round path alone, as the worker sent every batch before key runs."""
    batch = await org.claim()
    sent: list[Outcome] = []

    async def send(messages: Sequence[Message]) -> dict[int, Outcome]:
        outcomes = list(await org.destination.deliver(messages))
        sent.extend(outcomes)
        return {o.message_id: o for o in outcomes}

    _, untried = await send_in_key_order(send, batch)
    await org.finish(batch, sent, untried)
    return sent


async def test_key_runs_placed_paid_shipped_go_in_one_composite_call(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    await _warm(org, shop)
    _life(shop, "SO-1")
    calls, composites = org.api_calls, org.sandbox.calls["composite"]
    outcomes = await org.deliver_due()
    assert [o.result for o in outcomes] == [Result.DELIVERED] * 3
    assert (org.api_calls - calls, org.sandbox.calls["composite"] - composites) == (1, 1)
    order = _order(org, "SO-1")
    assert (order["Status"], order["Amount_Paid__c"]) == ("Shipped", 100)
    (parcel,) = [s for s in org.records("Shipment__c") if s["Order__c"] == order["Id"]]
    assert (parcel["Tracking_Number__c"], parcel["Units__c"]) == ("1Z-SO-1", 2)
    lines = [i for i in org.records("OrderItem") if i["OrderId"] == order["Id"]]
    assert sorted(i["Quantity"] for i in lines) == [1, 2]
    assert [o.record_id for o in outcomes] == [order["Id"], order["Id"], parcel["Id"]]
    assert [s for _, s, _ in _messages(shop, "SO-1")] == ["delivered"] * 3


async def test_key_runs_with_more_kinds_of_record_than_collections_go_in_one_call(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    """Three orders placed and paid write six kinds of record, each a chunk of three or more:
    one chunk more than a composite's five Collections, so one of the smallest, the payments,
    goes record by record (three single-record upserts) and the run is still one call, not the
    rounds' two."""
    await _warm(org, shop)
    for number in ("SO-1", "SO-2", "SO-3"):
        _life(shop, number, shipped=False)
    calls, upserts = org.api_calls, org.sandbox.calls["composite/sobjects.upsert"]
    outcomes = await org.deliver_due()
    assert [o.result for o in outcomes] == [Result.DELIVERED] * 6
    assert org.api_calls - calls == 1
    assert org.sandbox.calls["composite/sobjects.upsert"] - upserts == 3
    assert {_order(org, n)["Status"] for n in ("SO-1", "SO-2", "SO-3")} == {"Paid"}


async def test_key_runs_redelivered_after_a_lost_record_change_nothing(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    """The run was written but its outcomes never recorded (a crash): the redelivery's creates
    are refused as duplicates, rolled back, and the rounds resend them as updates."""
    await _warm(org, shop)
    _life(shop, "SO-1")
    batch = await org.claim()
    assert await org.destination.deliver_key_runs(batch) is not None
    async with org.pool.connection() as conn:
        await conn.execute("DELETE FROM outbox.salesforce_ids")  # forgotten, as after a crash
        await conn.execute(
            "UPDATE outbox.messages SET lease_expires_at = now() - interval '1 second'"
            " WHERE status = 'in_flight'"
        )
        assert await claim.reclaim_expired(conn, destination="salesforce", worker="w") == 3
    outcomes = await org.deliver_due()
    assert [o.result for o in outcomes] == [Result.DELIVERED] * 3
    assert len([o for o in org.records("Order") if o["Storefront_Order_Number__c"] == "SO-1"]) == 1
    assert len(org.records("Shipment__c")) == 1
    assert _order(org, "SO-1")["Status"] == "Shipped"


async def test_key_runs_refused_in_the_middle_fall_back_to_what_the_rounds_deliver(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    """An admin renamed the field the payment writes: the run is rolled back whole, then the
    rounds deliver the placed order, kill the payment with Salesforce's error and hand the
    shipment back untried, behind it: the very outcome of the round-by-round path alone."""
    await _warm(org, shop)
    org.sandbox.faults.rename_field("Order", "Amount_Paid__c", "Paid_Amount__c")
    _life(shop, "SO-2")
    calls = org.api_calls
    rounds = await _deliver_in_rounds(org)
    calls_by_rounds, calls = org.api_calls - calls, org.api_calls
    by_rounds = _messages(shop, "SO-2")
    shop.execute(
        "SELECT outbox.cancel(id, 'compared') FROM outbox.messages"
        " WHERE payload -> 'order' ->> 'number' = 'SO-2' AND status = 'pending'"
    )
    shop.commit()
    _life(shop, "SO-1")
    together = await org.deliver_due()
    assert org.api_calls - calls == calls_by_rounds + 1  # and the run, rolled back

    def seen(outcomes: list[Outcome]) -> list[tuple[Result, str | None]]:
        return [(o.result, o.error_code) for o in outcomes]

    assert (
        seen(together) == seen(rounds) == [(Result.DELIVERED, None), (Result.DEAD, "INVALID_FIELD")]
    )
    expected = [("order.placed", "delivered", 1), ("order.paid", "dead", 1),
                ("order.shipped", "pending", 0)]  # fmt: skip
    assert _messages(shop, "SO-1") == by_rounds == expected
    for number in ("SO-1", "SO-2"):
        order = _order(org, number)
        assert (order["Status"], order.get("Paid_Amount__c")) == ("Draft", None)
        assert not [s for s in org.records("Shipment__c") if s["Order__c"] == order["Id"]]
        lines = [i for i in org.records("OrderItem") if i["OrderId"] == order["Id"]]
        assert len(lines) == 2
