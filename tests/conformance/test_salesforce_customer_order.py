"""Customer data never goes backwards and is never blanked, whatever the interleaving of orders,
profile edits, replays, lock errors and two dispatchers delivering at once."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette

from dispatcher.core.destination import Result
from outbox.shop import place_order, update_customer
from outbox.shop.models import CartLine, Customer, OrderRequest
from sandboxes.salesforce import FaultKind
from tests.conformance.salesforce_org import Org, make_org, salesforce_config

EMAILS = ("ada@example.org", "grace@example.org", "alan@example.org")
NAMES = ("Ada", "Augusta", "Grace", "Alan", "Anon", "Mary")


def _order(number: str, email: str, first_name: str, last_name: str) -> OrderRequest:
    buyer = Customer(email=email, first_name=first_name, last_name=last_name)
    line = CartLine("WB-101", 1, Decimal("30.00"))
    return OrderRequest(number, buyer, (line,), payment_method="card")


async def _turn(dispatchers: list[Org], rng: random.Random) -> list[Result]:
    """One or both dispatchers claim and deliver a random-sized batch at the same time."""
    chosen = rng.sample(dispatchers, rng.choice((1, 2)))
    done = await asyncio.gather(*(d.deliver_due(limit=rng.randint(1, 4)) for d in chosen))
    return [o.result for outcomes in done for o in outcomes]


def _shop_step(shop: psycopg.Connection[Any], rng: random.Random, step: int) -> None:
    email = rng.choice(EMAILS)
    kind = rng.random()
    if kind < 0.45:
        last = shop.execute(
            "SELECT last_name FROM commerce.customers WHERE email = %s", (email,)
        ).fetchone()
        first, surname = rng.choice(NAMES), last[0] if last else f"Surname {step}"
        place_order(shop, _order(f"SO-{step}", email, first, surname))
    elif kind < 0.85:
        known = shop.execute("SELECT 1 FROM commerce.customers WHERE email = %s", (email,))
        if known.fetchone():
            changes = rng.choice(({"first_name": rng.choice(NAMES)}, {"last_name": f"L{step}"}))
            update_customer(shop, email, **changes)
    else:
        shop.execute("SELECT outbox.replay('salesforce', now() - interval '1 day')")
    shop.commit()


async def _drain(dispatchers: list[Org], shop: psycopg.Connection[Any]) -> None:
    for _ in range(40):
        shop.execute("UPDATE outbox.messages SET next_attempt_at = now() WHERE status = 'retrying'")
        shop.commit()
        if not await _turn(dispatchers, random.Random(0)):
            live = shop.execute(
                "SELECT count(*) FROM outbox.messages WHERE destination = 'salesforce'"
                " AND status IN ('pending', 'retrying', 'in_flight')"
            ).fetchone()
            if live == (0,):
                return
    raise AssertionError("messages still live after 40 turns")


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_salesforce_contacts_hold_the_latest_profile_under_any_interleaving(
    seed: int,
    shop: psycopg.Connection[Any],
    sandbox: Starlette,
    pool: AsyncConnectionPool[Any],
    http: httpx.AsyncClient,
) -> None:
    """Before: an order's snapshot and a later customer.updated travelled under different
    ordering keys, a replay wrote an old snapshot over a rename, and a second dispatcher sent a
    create body as an upsert onto a record that existed by then."""
    rng = random.Random(seed)
    dispatchers = [make_org(sandbox, pool, http, salesforce_config()) for _ in range(2)]
    org = dispatchers[0]
    org.sandbox.faults.inject(FaultKind.UNABLE_TO_LOCK_ROW, per_record=True, probability=0.1)
    opted_out: set[str] = set()
    for step in range(30):
        _shop_step(shop, rng, step)
        if rng.random() < 0.5:
            results = await _turn(dispatchers, rng)
            assert Result.DEAD not in results
        if rng.random() < 0.2 and (contacts := org.records("Contact")):
            unsubscribed = rng.choice(contacts)  # an unsubscribe made in Salesforce
            org.sandbox.store.update("Contact", unsubscribed["Id"], {"HasOptedOutOfEmail": True})
            opted_out.add(unsubscribed["Storefront_Customer_Id__c"])
    org.sandbox.faults.clear()
    await _drain(dispatchers, shop)
    dead = shop.execute("SELECT count(*) FROM outbox.messages WHERE status = 'dead'").fetchone()
    assert dead == (0,)
    expected = {
        f"c-{cid}": (first, last)
        for cid, first, last in shop.execute(
            "SELECT id, first_name, last_name FROM commerce.customers"
        ).fetchall()
    }
    contacts = org.records("Contact")
    assert {c["Storefront_Customer_Id__c"]: (c["FirstName"], c["LastName"]) for c in contacts} == (
        expected
    )
    assert {c["Storefront_Customer_Id__c"] for c in contacts if c["HasOptedOutOfEmail"]} == (
        opted_out
    )
