"""The Salesforce destination against the sandbox org: idempotent, cheap, and failing alone."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from dispatcher.core.destination import Result
from tests.conformance.salesforce_org import Org, place


def _counts(org: Org) -> dict[str, int]:
    names = ("Account", "Contact", "Order", "OrderItem", "Course_Enrollment__c")
    return {name: len(org.records(name)) for name in names}


async def test_salesforce_same_message_three_times_writes_one_record_per_object(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    place(shop, "SO-1")
    batch = await org.claim()
    for _ in range(3):
        outcomes = await org.destination.deliver(batch)
        assert [o.result for o in outcomes] == [Result.DELIVERED]
    assert _counts(org) == {
        "Account": 1, "Contact": 1, "Order": 1, "OrderItem": 2, "Course_Enrollment__c": 1,
    }  # fmt: skip
    (order,) = org.records("Order")
    assert outcomes[0].record_id == order["Id"]
    writes = org.sandbox.store.writes["Order"]["SO-1"]
    assert (writes.created, writes.updated) == (1, 2)


async def test_salesforce_update_leaves_fields_salesforce_owns(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    place(shop, "SO-2")
    batch = await org.claim()
    await org.destination.deliver(batch)
    (order,) = org.records("Order")
    org.sandbox.store.update("Order", order["Id"], {"Status": "Activated"})
    again = await org.destination.deliver(batch)
    assert again[0].result is Result.DELIVERED
    assert org.records("Order")[0]["Status"] == "Activated"
    assert {r["Type"] for r in org.records("Account")} == {"Household"}


async def test_salesforce_backlog_of_50_orders_costs_a_handful_of_calls(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    place(shop, *(f"SO-{n}" for n in range(100, 150)))
    outcomes = await org.deliver_due()
    assert len(outcomes) == 50
    assert {o.result for o in outcomes} == {Result.DELIVERED}
    assert _counts(org)["OrderItem"] == 100
    assert org.api_calls <= 3  # one composite for the chunks; the rest is head-room
    assert org.sandbox.calls["oauth2.token"] == 1


async def test_salesforce_bad_record_dies_alone_with_its_salesforce_error(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    # A price book entry the org does not have: the mapping cannot know, Salesforce refuses it.
    # Only SO-7 keeps a line of that SKU.
    shop.execute(
        "UPDATE commerce.products SET salesforce_pricebook_entry_id = '01uDm0000000999IAA'"
        " WHERE sku = 'DL-301'"
    )
    shop.commit()
    place(shop, "SO-7", "SO-8")
    shop.execute("UPDATE outbox.messages SET payload = jsonb_set(payload, '{lines,1,sku}', "
                 "'\"WB-102\"') WHERE idempotency_key = 'order.placed:SO-8'")  # fmt: skip
    shop.commit()
    outcomes = await org.deliver_due()
    assert sorted(o.result for o in outcomes) == [Result.DEAD, Result.DELIVERED]
    assert org.api_calls == 1
    rows = shop.execute(
        """
        SELECT m.status::text, m.last_error_code, m.last_error, a.error_code, a.outcome::text
          FROM outbox.messages m JOIN outbox.attempts a ON a.message_id = m.id
         WHERE m.idempotency_key = 'order.placed:SO-7'
        """
    ).fetchall()
    assert len(rows) == 1
    status, code, text, attempt_code, attempt_outcome = rows[0]
    assert (status, code, attempt_code, attempt_outcome) == (
        "dead", "INVALID_CROSS_REFERENCE_KEY", "INVALID_CROSS_REFERENCE_KEY", "dead",
    )  # fmt: skip
    assert text.startswith("OrderItem SO-7-2: INVALID_CROSS_REFERENCE_KEY")


async def test_salesforce_mapping_error_dies_without_an_api_call(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    payload = {"customer": {"id": "c-1", "email": "x@example.org", "last_name": None},
               "order": {"number": "SO-9"}, "lines": []}  # fmt: skip
    shop.execute(
        "SELECT outbox.publish('salesforce', 'order.placed', %s, 'order:SO-9', 'bad:SO-9')",
        (Jsonb(payload),),
    )
    shop.commit()
    (outcome,) = await org.deliver_due()
    assert (outcome.result, outcome.error_code) == (Result.DEAD, "MAPPING_ERROR")
    assert (outcome.error_message or "").startswith("Account c-1.Name: is required")
    assert org.api_calls == 0
    assert org.sandbox.calls["oauth2.token"] == 0
