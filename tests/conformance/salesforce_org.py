"""A Salesforce destination wired to an in-process sandbox org and a real outbox database."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import psycopg
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette

from dispatcher.config import DestinationConfig, destination_config
from dispatcher.core import claim, record
from dispatcher.core.destination import Message, Outcome
from dispatcher.core.record import Finished
from dispatcher.core.retry import RetryPolicy, decide
from dispatcher.core.worker import send_batch
from dispatcher.destinations.context import DestinationContext
from dispatcher.destinations.salesforce import SalesforceDestination
from dispatcher.destinations.salesforce.build import build
from dispatcher.mapping.reload import MappingSet
from outbox.resources import resource_dir
from outbox.shop import place_order
from outbox.shop.models import CartLine, Customer, OrderRequest
from sandboxes.salesforce import SandboxSettings, SandboxState, create_app, load_seed

BASE_URL = "https://acme.my.salesforce.com"
SECRET_ENV = "TEST_SALESFORCE_SECRET"


def seed_catalog(conn: psycopg.Connection[Any]) -> None:
    """The storefront's catalog, hydrated from the sandbox's seed as the demo does."""
    catalog = load_seed()
    for p in catalog.products:
        conn.execute(
            """
            INSERT INTO commerce.products (sku, name, purchase_type, price, stock,
                   thinkific_course_id, license_term_days, salesforce_product2_id,
                   salesforce_pricebook_entry_id)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
            """,
            (p.sku, p.name, p.purchase_type, p.price, p.stock, p.thinkific_course_id,
             p.license_term_days, p.product2_id, p.pricebook_entry_id),
        )  # fmt: skip
    conn.commit()


def order_request(number: str, *, email: str | None = None, **customer: Any) -> OrderRequest:
    buyer = Customer(
        email=email or f"{number.lower()}@example.org",
        first_name="Ada",
        last_name=f"Lovelace {number}",
        **customer,
    )
    lines = (CartLine("WB-101", 2, Decimal("30.00")), CartLine("DL-301", 1, Decimal("40.00")))
    return OrderRequest(number, buyer, lines, payment_method="card")


def place(conn: psycopg.Connection[Any], *numbers: str, **customer: Any) -> None:
    for number in numbers:
        place_order(conn, order_request(number, **customer))
    conn.commit()


def salesforce_config(**options: Any) -> DestinationConfig:
    base = {
        "instance_url": BASE_URL,
        "auth": {"client_id": "sandbox-consumer-key", "client_secret_env": SECRET_ENV},
        "pricebook_id": load_seed().pricebook_id,
    }
    return destination_config(type="salesforce", batch_size=200, options={**base, **options})


@dataclass
class Org:
    """The sandbox, the destination and the outbox, with the worker's claim and record."""

    app: Starlette
    destination: SalesforceDestination
    pool: AsyncConnectionPool[Any]

    @property
    def sandbox(self) -> SandboxState:
        state: SandboxState = self.app.state.sandbox
        return state

    def records(self, sobject: str) -> list[dict[str, Any]]:
        return list(self.sandbox.store.rows(sobject))

    @property
    def api_calls(self) -> int:
        return int(self.sandbox.usage.used)

    async def claim(self, limit: int = 200) -> list[Message]:
        async with self.pool.connection() as conn:
            return await claim.claim(
                conn, destination="salesforce", worker="w", limit=limit, lease_seconds=60
            )

    async def finish(
        self,
        batch: Sequence[Message],
        outcomes: Sequence[Outcome],
        untried: Sequence[Message] = (),
    ) -> None:
        by_id = {o.message_id: o for o in outcomes}
        now = datetime.now(UTC)
        results = [
            Finished(
                m,
                decide(by_id[m.id], m.attempt, RetryPolicy(), random.Random(0)),
                by_id[m.id].http_status,
                by_id[m.id].record_id,
                now,
                now,
            )
            for m in batch
            if m.id in by_id
        ]
        async with self.pool.connection() as conn:
            await record.finish_batch(conn, results, worker="w", untried=untried)

    async def deliver_due(self, limit: int = 200) -> list[Outcome]:
        """One turn of the worker loop: claim, deliver outside any transaction (a key's run in
        order, as the worker sends it: together when it can, else round by round), record.
        Outcomes in the order sent."""
        batch = await self.claim(limit)
        sent: list[Outcome] = []

        async def send(messages: Sequence[Message]) -> dict[int, Outcome]:
            outcomes = list(await self.destination.deliver(messages))
            sent.extend(outcomes)
            return {o.message_id: o for o in outcomes}

        outcomes, untried = await send_batch(self.destination, send, batch)
        rounds = {o.message_id for o in sent}
        together = [  # the key runs written together, before any round
            outcomes[m.id]
            for m in sorted(batch, key=lambda m: m.id)
            if m.id in outcomes and m.id not in rounds
        ]
        sent[:0] = together
        await self.finish(batch, sent, untried)
        return sent


def make_org(app: Starlette, pool: AsyncConnectionPool[Any], client: httpx.AsyncClient,
             config: DestinationConfig) -> Org:  # fmt: skip
    mappings = MappingSet(resource_dir("mappings"))
    context = DestinationContext("salesforce", config, client, pool, mappings)
    return Org(app, build(context), pool)


@asynccontextmanager
async def org_with(
    pool: AsyncConnectionPool[Any], settings: SandboxSettings, **options: Any
) -> AsyncIterator[Org]:
    """An org of its own (a small daily limit, a JWT key) for one test."""
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield make_org(app, pool, client, salesforce_config(**options))
