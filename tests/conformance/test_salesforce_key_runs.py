"""A key's run of messages written to the Salesforce sandbox in one composite call, and what
happens when Salesforce refuses a record in the middle of it."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Sequence
from typing import Any

import psycopg

from dispatcher.core import claim
from dispatcher.core.destination import Message, Outcome, Result
from dispatcher.core.worker import DestinationWorker, WorkerSettings, send_in_key_order
from outbox.shop import place_order, record_payment, record_shipment
from tests.conformance.salesforce_org import Org, order_request


def _order(org: Org, number: str) -> dict[str, Any]:
    (found,) = [o for o in org.records("Order") if o["Storefront_Order_Number__c"] == number]
    return found


def _life(
    shop: psycopg.Connection[Any],
    number: str,
    *,
    shipped: bool = True,
    method: str = "card",
    organisation: str | None = None,
) -> None:
    # 2 workbooks (line 1), one course (line 2): 100.00
    request = order_request(number, organisation=organisation)
    place_order(shop, dataclasses.replace(request, payment_method=method))
    record_payment(shop, number, method, "100.00", f"pi_{number}")
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
    place_order(shop, order_request("SO-0"))
    shop.commit()
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


async def test_key_runs_that_groups_would_not_send_in_fewer_calls_go_round_by_round(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    """Thirty orders placed and paid: a group holds 20 of them (five Collections and 20 payments
    record by record), so two groups, and the rounds send the lot in two calls too (every
    order's records of a kind in one chunk): no fewer calls, so the rounds, and no composite
    call made all or nothing."""
    await _warm(org, shop)
    numbers = [f"SO-{n}" for n in range(1, 31)]
    for number in numbers:
        _life(shop, number, shipped=False)
    calls, upserts = org.api_calls, org.sandbox.calls["composite/sobjects.upsert"]
    outcomes = await org.deliver_due()
    assert [o.result for o in outcomes] == [Result.DELIVERED] * 60
    assert org.api_calls - calls == 2
    assert org.sandbox.calls["composite/sobjects.upsert"] == upserts  # no payment alone
    assert {_order(org, n)["Status"] for n in numbers} == {"Paid"}


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


async def _drain(org: Org, shop: psycopg.Connection[Any], messages: int) -> None:
    """The dispatcher's worker loop delivers until ``messages`` more are delivered."""

    def delivered() -> int:
        row = shop.execute(
            "SELECT count(*) FROM outbox.messages"
            " WHERE destination = 'salesforce' AND status = 'delivered'"
        ).fetchone()
        shop.commit()
        return int(row[0]) if row else 0

    goal = delivered() + messages
    settings = WorkerSettings(batch_size=200, concurrency=1, poll_interval=0.05)
    worker = DestinationWorker(
        org.destination, org.pool, "w1", settings, wakeup=asyncio.Event(), rng=random.Random(7)
    )
    stopping = asyncio.Event()
    task = asyncio.create_task(worker.run(stopping, grace=5))
    for _ in range(600):  # at most 30 s: a guard against a hang, not a figure under test
        if delivered() >= goal:
            break
        await asyncio.sleep(0.05)
    stopping.set()
    await task
    assert delivered() == goal


def _attempts(shop: psycopg.Connection[Any]) -> list[tuple[str, str, str, str | None]]:
    """(order number, event, outcome, error code) of every attempt after the warm-up order."""
    rows = shop.execute(
        "SELECT m.payload -> 'order' ->> 'number', m.event_type, a.outcome::text, a.error_code"
        "  FROM outbox.attempts a JOIN outbox.messages m ON m.id = a.message_id"
        " WHERE m.destination = 'salesforce' AND m.payload -> 'order' ->> 'number' <> 'SO-0'"
        " ORDER BY a.id"
    ).fetchall()
    shop.commit()
    return [(str(n), str(e), str(o), c) for n, e, o, c in rows]


def _shipped_once(org: Org, number: str) -> None:
    """The order's records as its placed, paid and shipped messages leave them, each once."""
    (order,) = [o for o in org.records("Order") if o["Storefront_Order_Number__c"] == number]
    assert (order["Status"], order["Amount_Paid__c"]) == ("Shipped", 100)
    lines = [i for i in org.records("OrderItem") if i["OrderId"] == order["Id"]]
    assert sorted(i["Quantity"] for i in lines) == [1, 2]
    (parcel,) = [s for s in org.records("Shipment__c") if s["Order__c"] == order["Id"]]
    assert (parcel["Tracking_Number__c"], parcel["Units__c"]) == (f"1Z-{number}", 2)


# Each order writes eight kinds of record over its three rounds: its Account, Contact, Order,
# two lines and a course enrollment; its Order again (paid); its Order and a Shipment__c
# (shipped). A group of n orders is five sObject Collections (the 2n lines and four kinds of n)
# and 3n records alone, at most 25 subrequests: 6 orders a group. The rounds cost three calls
# (each round's chunks, five to a call) however many orders there are.
ORDERS, PER_GROUP, BY_ROUNDS = 12, 6, 3


async def test_key_runs_of_a_backlog_go_in_groups_of_whole_keys_one_call_each(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    await _warm(org, shop)
    numbers = [f"SO-{n}" for n in range(1, ORDERS + 1)]
    for number in numbers:
        _life(shop, number)
    calls, composites = org.api_calls, org.sandbox.calls["composite"]
    await _drain(org, shop, 3 * ORDERS)
    groups = -(-ORDERS // PER_GROUP)
    assert groups < BY_ROUNDS
    assert (org.api_calls - calls, org.sandbox.calls["composite"] - composites) == (groups, groups)
    attempts = _attempts(shop)
    assert len(attempts) == 3 * ORDERS  # every message tried once
    assert {(o, c) for _, _, o, c in attempts} == {("delivered", None)}
    for number in numbers:
        assert _messages(shop, number) == [
            ("order.placed", "delivered", 1),
            ("order.paid", "delivered", 1),
            ("order.shipped", "delivered", 1),
        ]
        _shipped_once(org, number)
    assert len(org.records("Order")) == ORDERS + 1  # and SO-0


async def test_key_runs_group_writes_as_updates_what_an_earlier_group_of_the_batch_created(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    """SO-1 and SO-12 are bought by two people of one clinic, in the first and the second
    group: the first group creates the clinic's Account, the second, planned after it, upserts
    it (sent as a create, it would be refused as a duplicate and its group rolled back). Still
    two calls, and one Account."""
    await _warm(org, shop)
    clinic = "St Mary's Clinic"
    numbers = [f"SO-{n}" for n in range(1, ORDERS + 1)]
    for number in numbers:
        _life(shop, number, organisation=clinic if number in ("SO-1", "SO-12") else None)
    calls = org.api_calls
    outcomes = await org.deliver_due()
    assert [o.result for o in outcomes] == [Result.DELIVERED] * 3 * ORDERS
    assert org.api_calls - calls == -(-ORDERS // PER_GROUP)
    (account,) = [a for a in org.records("Account") if a["Name"] == clinic]
    for number in ("SO-1", "SO-12"):
        _shipped_once(org, number)
        assert _order(org, number)["AccountId"] == account["Id"]


async def test_key_runs_group_refused_goes_round_by_round_and_the_others_are_applied_once(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    """SO-3 is paid by PayPal, a value an admin removed from Order.Payment_Method__c: its Order
    is refused, which rolls the first group (SO-1 to SO-6) back whole. The second group is
    applied in its own call, once; the first group's messages go round by round (placed,
    paid, shipped: three calls), where SO-3's order dies alone with Salesforce's error and its
    payment and shipment are handed back untried, behind it."""
    await _warm(org, shop)
    org.sandbox.faults.remove_picklist_value("Order", "Payment_Method__c", "PayPal")
    numbers = [f"SO-{n}" for n in range(1, ORDERS + 1)]
    for number in numbers:
        _life(shop, number, method="paypal" if number == "SO-3" else "card")
    calls = org.api_calls
    outcomes = await org.deliver_due()
    assert org.api_calls - calls == 2 + BY_ROUNDS
    applied, rounds = outcomes[: 3 * PER_GROUP], outcomes[3 * PER_GROUP :]
    assert {o.result for o in applied} == {Result.DELIVERED}
    assert len(rounds) == PER_GROUP + 2 * (PER_GROUP - 1)
    (dead,) = [o for o in outcomes if o.result is not Result.DELIVERED]
    assert (dead.result, dead.error_code) == (
        Result.DEAD,
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    )
    assert str(dead.error_message).startswith("Order SO-3:")
    assert _messages(shop, "SO-3") == [
        ("order.placed", "dead", 1),
        ("order.paid", "pending", 0),
        ("order.shipped", "pending", 0),
    ]
    assert [(n, e, c) for n, e, o, c in _attempts(shop) if o != "delivered"] == [
        ("SO-3", "order.placed", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
    ]
    for number in numbers:
        if number != "SO-3":
            assert [a for _, _, a in _messages(shop, number)] == [1, 1, 1]
            _shipped_once(org, number)
    assert "SO-3" not in {o["Storefront_Order_Number__c"] for o in org.records("Order")}
