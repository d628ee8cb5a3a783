"""Re-sending is safe against an org as strict as the vendor's describe (API-NOTES §1.9): lines
are set at create, an activated order keeps its account and products, and a record that exists
never receives a create body."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest
import structlog

from dispatcher.core.destination import Result
from dispatcher.destinations.salesforce import check_org_drift, writer
from dispatcher.maintenance import check_drift
from dispatcher.maintenance.scheduler import JobContext
from outbox.shop import place_order, record_payment, refund
from outbox.shop.models import CartLine, Customer, OrderRequest
from sandboxes.salesforce import FaultKind
from tests.conformance.salesforce_org import Org, place, salesforce_config


async def _deliver_all(org: Org) -> list[Result]:
    results: list[Result] = []
    while outcomes := await org.deliver_due():
        results += [o.result for o in outcomes]
    return results


def _line_writes(org: Org) -> dict[str, tuple[int, int]]:
    return {k: (w.created, w.updated) for k, w in org.sandbox.store.writes["OrderItem"].items()}


def _replay(shop: psycopg.Connection[Any]) -> int:
    (copied,) = shop.execute(
        "SELECT outbox.replay('salesforce', now() - interval '1 day')"
    ).fetchone() or (0,)
    shop.commit()
    return int(copied)


async def test_salesforce_replay_of_delivered_orders_is_delivered(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    """Before: every update body of a line carried Product2Id, which Salesforce never updates,
    so a replay of 15 delivered orders gave 15 dead letters."""
    place(shop, *(f"SO-{n}" for n in range(1, 6)))
    record_payment(shop, "SO-1", "card", "100.00", "pi_1")  # Paid: the order is activated
    shop.commit()
    assert set(await _deliver_all(org)) == {Result.DELIVERED}
    lines_before = _line_writes(org)
    assert _replay(shop) == 6
    assert await _deliver_all(org) == [Result.DELIVERED] * 6
    assert _line_writes(org) == lines_before  # a line is written once, at create
    assert len(org.records("Order")) == 5


async def test_salesforce_record_that_exists_never_gets_a_create_body(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    """Before: a record written but not remembered (a crash, or a second dispatcher) got the
    create body as an upsert: HasOptedOutOfEmail back to false, the Account's Type reset."""
    place(shop, "SO-1")
    batch = await org.claim()
    assert [o.result for o in await org.destination.deliver(batch)] == [Result.DELIVERED]
    (contact,) = org.records("Contact")
    (account,) = org.records("Account")
    org.sandbox.store.update("Contact", contact["Id"], {"HasOptedOutOfEmail": True})
    org.sandbox.store.update("Account", account["Id"], {"Type": "Other"})
    shop.execute("DELETE FROM outbox.salesforce_ids")  # the write was never remembered
    shop.commit()
    assert [o.result for o in await org.destination.deliver(batch)] == [Result.DELIVERED]
    (contact,) = org.records("Contact")
    assert (contact["HasOptedOutOfEmail"], contact["FirstName"]) == (True, "Ada")
    assert org.records("Account")[0]["Type"] == "Other"
    assert len(org.records("OrderItem")) == 2


async def test_salesforce_later_events_of_an_activated_order_leave_its_account(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    """Before: every after-sale event sent the order's AccountId from the customer as they are
    now; once the buyer had an organisation, the refund of an activated order was refused."""
    place(shop, "SO-1", email="ada@example.org")
    record_payment(shop, "SO-1", "card", "100.00", "pi_1")
    shop.commit()
    assert set(await _deliver_all(org)) == {Result.DELIVERED}
    account_id = _order(org, "SO-1")["AccountId"]
    buyer = Customer("ada@example.org", "Ada", "Lovelace", organisation="Northgate Clinic")
    line = CartLine("WB-101", 1, Decimal("30.00"))
    place_order(shop, OrderRequest("SO-2", buyer, (line,), payment_method="card"))
    refund(shop, "SO-1", "RF-1", "30.00", {1: 1})
    shop.commit()
    assert set(await _deliver_all(org)) == {Result.DELIVERED}
    order = _order(org, "SO-1")
    assert (order["AccountId"], order["Status"], order["Refunded_Amount__c"]) == (
        account_id, "Paid", 30,
    )  # fmt: skip


def _order(org: Org, number: str) -> dict[str, Any]:
    (found,) = [o for o in org.records("Order") if o["Storefront_Order_Number__c"] == number]
    return found


async def test_salesforce_drift_that_makes_a_write_impossible_dead_letters_its_section(
    org: Org, shop: psycopg.Connection[Any], http: httpx.AsyncClient
) -> None:
    """Before: the drift check reported the finding every five minutes and nothing acted on
    it; every message of the section kept failing against the org."""
    place(shop, "SO-1")
    assert set(await _deliver_all(org)) == {Result.DELIVERED}
    org.sandbox.faults.rename_field("Order", "Amount_Paid__c", "Amount_Received__c")
    mapping = org.destination.mapping()
    findings = await check_org_drift(http, salesforce_config().options, mapping)
    context = JobContext(org.pool, "w", structlog.get_logger("test"), client=http)
    await check_drift.record(context, mapping.version, findings)
    record_payment(shop, "SO-1", "card", "100.00", "pi_1")
    place(shop, "SO-2")
    shop.commit()
    calls = org.api_calls
    outcomes = {o.result: o for o in await org.deliver_due()}
    assert set(outcomes) == {Result.DEAD, Result.DELIVERED}
    dead = outcomes[Result.DEAD]
    assert dead.error_code == "MAPPING_DRIFT"
    assert dead.error_message is not None
    assert "Order.Amount_Paid__c: missing_field" in dead.error_message
    assert "section order_progress" in dead.error_message
    assert org.api_calls == calls + 1  # only SO-2 was sent


async def test_salesforce_lock_error_on_the_resent_update_is_retried_not_dead(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    """A record created but not remembered, then a lock error on the update sent instead: the
    message is retried; the duplicate the create met is no reason to give up on it."""
    place(shop, "SO-1")
    batch = await org.claim()
    assert [o.result for o in await org.destination.deliver(batch)] == [Result.DELIVERED]
    shop.execute("DELETE FROM outbox.salesforce_ids")
    shop.commit()
    org.sandbox.faults.inject(
        FaultKind.UNABLE_TO_LOCK_ROW, per_record=True, remaining=1, path="sobjects/Contact/"
    )
    (outcome,) = await org.destination.deliver(batch)
    assert (outcome.result, outcome.error_code) == (Result.RETRY, "UNABLE_TO_LOCK_ROW")
    assert [o.result for o in await org.destination.deliver(batch)] == [Result.DELIVERED]


async def test_salesforce_records_held_back_behind_a_create_refused_as_existing_are_sent_after_it(
    org: Org, shop: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: a customer's Contact and Account existed but were not remembered (a second
    dispatcher wrote them), so their creates were refused as duplicates; the records behind
    them in later calls (the new order and its lines) were held back as children of a refused
    parent, and stayed unsent after the creates were resent as updates and applied: the
    message was retried for nothing. One chunk a call puts those records in later calls."""
    place(shop, "SO-1", email="ada@example.org")
    assert set(await _deliver_all(org)) == {Result.DELIVERED}
    shop.execute("DELETE FROM outbox.salesforce_ids")  # written elsewhere, not remembered here
    place(shop, "SO-2", email="ada@example.org")
    monkeypatch.setattr(writer, "PER_COMPOSITE", 1)
    outcomes = await org.deliver_due()
    assert [(o.result, o.error_code) for o in outcomes] == [(Result.DELIVERED, None)]
    assert len(org.records("Contact")) == 1
    assert len(org.records("Order")) == 2
    assert len(org.records("OrderItem")) == 4
