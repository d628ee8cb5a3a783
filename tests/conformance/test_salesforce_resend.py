"""At-least-once delivery is safe: any prefix of an order's life, delivered again any number of
times through either branch (update, or create refused as a duplicate), ends in the state one
delivery of each message gives, against an org as strict as the vendor's describe."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg_pool import AsyncConnectionPool

from dispatcher.core.destination import Message, Result
from outbox.shop import record_payment, record_shipment, refund
from sandboxes.salesforce import SandboxSettings, create_app
from sandboxes.salesforce.settings import utc_now
from tests.conformance.salesforce_org import BASE_URL, Org, make_org, place, salesforce_config

_numbers: Iterator[int] = itertools.count(1)
VOLATILE = {"Id", "CreatedDate", "LastModifiedDate", "SystemModstamp"}
OBJECTS = ("Account", "Contact", "Order", "OrderItem", "Course_Enrollment__c", "Shipment__c")
LINKS = ("AccountId", "BillToContactId", "OrderId", "Order__c", "Contact__c")


def _life(shop: psycopg.Connection[Any]) -> list[Message]:
    """An order placed, paid (activated), shipped in two parcels and partly refunded."""
    number = f"SO-P{next(_numbers)}"
    place(shop, number, email=f"{number.lower()}@example.org")
    record_payment(shop, number, "card", "100.00", f"pi_{number}")
    record_shipment(shop, number, f"{number}-1", {1: 1}, "UPS", "1Z001")
    record_shipment(shop, number, f"{number}-2", {1: 1}, "DHL", "JD002")
    refund(shop, number, f"RF-{number}", "30.00", {1: 1})
    shop.commit()
    rows = shop.execute(
        "SELECT id, event_type, ordering_key, idempotency_key, correlation_id, payload,"
        " created_at FROM outbox.messages WHERE destination = 'salesforce'"
        " AND coalesce(payload #>> '{order,number}', payload ->> 'order_number') = %s"
        " ORDER BY id",
        (number,),
    ).fetchall()
    return [Message(r[0], r[1], r[2], r[3], r[4], r[5], 1, r[6]) for r in rows]


def _state(org: Org) -> dict[str, list[dict[str, Any]]]:
    """The org's records without Ids and stamps; references as the referenced record's key."""
    keys = {
        r["Id"][:15]: r.get("Storefront_Account_Id__c") or r.get("Storefront_Customer_Id__c")
        or r.get("Storefront_Order_Number__c")
        for name in ("Account", "Contact", "Order") for r in org.records(name)
    }  # fmt: skip
    state = {}
    for name in OBJECTS:
        rows = [
            {k: keys.get(str(v)[:15], v) if k in LINKS else v for k, v in r.items()
             if k not in VOLATILE}
            for r in org.records(name)
        ]  # fmt: skip
        state[name] = sorted(rows, key=repr)
    return state


async def _deliver(org: Org, shop: psycopg.Connection[Any], message: Message, forget: bool) -> None:
    if forget:  # the write was never remembered: the next one takes the create branch
        shop.execute("DELETE FROM outbox.salesforce_ids")
        shop.commit()
    (outcome,) = await org.destination.deliver([message])
    assert outcome.result is Result.DELIVERED, outcome


async def _fresh_org(pool: AsyncConnectionPool[Any], run: Any) -> Any:
    app = create_app(SandboxSettings(random_seed=7, clock=utc_now))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        return await run(make_org(app, pool, client, salesforce_config()))


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    resends=st.lists(
        st.tuples(st.integers(min_value=1, max_value=6), st.booleans()), min_size=1, max_size=4
    )
)
async def test_salesforce_resent_prefixes_end_in_the_state_of_one_delivery(
    resends: list[tuple[int, bool]],
    shop: psycopg.Connection[Any],
    pool: AsyncConnectionPool[Any],
) -> None:
    life = _life(shop)
    assert [m.event_type for m in life] == [
        "order.placed", "order.paid", "order.shipped", "order.shipped", "order.refunded",
    ]  # fmt: skip

    async def once(org: Org) -> dict[str, list[dict[str, Any]]]:
        for message in life:
            await _deliver(org, shop, message, forget=False)
        return _state(org)

    async def resent(org: Org) -> dict[str, list[dict[str, Any]]]:
        for length, forget in resends:
            for message in life[:length]:
                await _deliver(org, shop, message, forget)
        for message in life:
            await _deliver(org, shop, message, forget=False)
        return _state(org)

    shop.execute("DELETE FROM outbox.salesforce_ids")
    shop.commit()
    expected = await _fresh_org(pool, once)
    shop.execute("DELETE FROM outbox.salesforce_ids")
    shop.commit()
    assert await _fresh_org(pool, resent) == expected
