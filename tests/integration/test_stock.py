"""Stock against the Salesforce sandbox: a unit sold here is never sold again, whatever runs
between catalog pulls and checkouts, and the safety stock holds on every pull.

Product2 writes go through sObject Collections (``PATCH /composite/sobjects``, API-NOTES §1.3);
the sandbox serves Product2 from the declared schema (mappings/salesforce_schema.yaml), where
Stock_Quantity__c, Storefront_Stock_Movement__c and Safety_Stock__c are the org's fields.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest
import structlog
from psycopg_pool import AsyncConnectionPool

from dispatcher.config import PullCatalogConfig
from dispatcher.destinations.salesforce.api import SalesforceApi
from dispatcher.destinations.salesforce.settings import load_settings
from dispatcher.maintenance import pull_catalog
from dispatcher.maintenance.org import SalesforceOrg
from dispatcher.maintenance.scheduler import Job, JobContext, run_job
from dispatcher.maintenance.stock_push import push_stock
from outbox.shop import CartLine, place_order
from outbox.shop.errors import OutOfStockError
from sandboxes.salesforce import SandboxSettings, create_app
from sandboxes.serve import running_app
from tests.fixtures.catalog import order_factory

BOOK = "01tDm0000000001IAA"  # WB-101 in the sandbox's seed
PRICE = Decimal("30.00")


@pytest.fixture
def org() -> Iterator[tuple[str, Any]]:
    with running_app(create_app(SandboxSettings())) as url:
        yield url


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    async with AsyncConnectionPool(
        db_url, min_size=1, max_size=4, open=False, kwargs={"autocommit": True}
    ) as p:
        yield p


async def _pull(pool: AsyncConnectionPool[Any], url: str, **settings: Any) -> str:
    org = SalesforceOrg({"instance_url": url}, sandbox=True)
    settings = pull_catalog.Settings(org, PullCatalogConfig(**settings))
    job = Job("pull_catalog", 300.0, pull_catalog.run, settings)
    async with httpx.AsyncClient() as client:
        context = JobContext(pool, "w", structlog.get_logger("test"), client=client)
        ran, detail = await run_job(job, context, force=True)
    assert ran
    assert detail is not None
    assert "error" not in detail.split("changed")[0], detail
    return detail


async def _org(url: str, method: str, path: str, body: Any = None) -> Any:
    async with httpx.AsyncClient() as client:
        api = SalesforceApi(
            client, load_settings("salesforce", {"instance_url": url}, sandbox=True)
        )
        return await api.call(method, path, json=body)


async def _count(url: str) -> tuple[int, int]:
    row = await _org(url, "GET", f"/sobjects/Product2/{BOOK}")
    return int(row["Stock_Quantity__c"]), int(row.get("Storefront_Stock_Movement__c") or 0)


def _sell(conn: psycopg.Connection[Any], number: str, quantity: int) -> None:
    place_order(conn, order_factory(CartLine("WB-101", quantity, PRICE), number=number))
    conn.commit()


def _position(conn: psycopg.Connection[Any]) -> tuple[Any, ...]:
    row = conn.execute(
        "SELECT salesforce_stock, units_not_in_salesforce, stock, safety_stock, available, "
        "consistent FROM commerce.stock_position WHERE sku = 'WB-101'"
    ).fetchone()
    conn.commit()
    assert row is not None
    return tuple(row)


async def test_pull_catalog_never_puts_sold_units_back_on_sale(
    org: str, pool: AsyncConnectionPool[Any], conn: psycopg.Connection[Any]
) -> None:
    await _org(org, "PATCH", f"/sobjects/Product2/{BOOK}", {"Stock_Quantity__c": 10})
    await _pull(pool, org)
    assert _position(conn) == (10, 0, 10, 0, 10, True)
    _sell(conn, "SO-1", 5)
    assert _position(conn) == (10, 5, 5, 0, 5, True)  # sold here, not yet in Salesforce
    detail = await _pull(pool, org)
    assert detail.startswith("wrote 5 unit(s) sold of 1 product(s) to Salesforce")
    mark = conn.execute("SELECT max(id) FROM commerce.stock_movements").fetchone()
    assert await _count(org) == (5, mark[0] if mark else 0)
    assert _position(conn) == (5, 0, 5, 0, 5, True)
    await _pull(pool, org)  # again: nothing left to write, nothing comes back
    assert await _count(org) == (5, mark[0] if mark else 0)
    assert _position(conn) == (5, 0, 5, 0, 5, True)
    # The warehouse receives 20 units: Salesforce's count is the source of truth for arrivals.
    await _org(org, "PATCH", f"/sobjects/Product2/{BOOK}", {"Stock_Quantity__c": 25})
    _sell(conn, "SO-2", 3)
    await _pull(pool, org)
    assert await _count(org) == (22, mark[0] + 1 if mark else 0)
    assert _position(conn) == (22, 0, 22, 0, 22, True)


async def test_pull_catalog_without_writing_counts_still_subtracts_unacknowledged_sales(
    org: str, pool: AsyncConnectionPool[Any], conn: psycopg.Connection[Any]
) -> None:
    await _org(org, "PATCH", f"/sobjects/Product2/{BOOK}", {"Stock_Quantity__c": 10})
    await _pull(pool, org, stock_mark_field=None)
    _sell(conn, "SO-1", 5)
    await _org(org, "PATCH", f"/sobjects/Product2/{BOOK}", {"Stock_Quantity__c": 10})
    await _pull(pool, org, stock_mark_field=None)  # re-reads the unchanged count of 10
    assert await _count(org) == (10, 0)
    assert _position(conn) == (10, 5, 5, 0, 5, True)


async def test_pull_catalog_cancellation_puts_units_back_in_both_counts(
    org: str, pool: AsyncConnectionPool[Any], conn: psycopg.Connection[Any]
) -> None:
    from outbox.shop import cancel_order

    await _org(org, "PATCH", f"/sobjects/Product2/{BOOK}", {"Stock_Quantity__c": 10})
    await _pull(pool, org)
    _sell(conn, "SO-1", 4)
    await _pull(pool, org)
    cancel_order(conn, "SO-1", reason="changed their mind")
    conn.commit()
    assert _position(conn) == (6, -4, 10, 0, 10, True)
    await _pull(pool, org)
    assert (await _count(org))[0] == 10
    assert _position(conn) == (10, 0, 10, 0, 10, True)


async def test_pull_catalog_applies_safety_stock_to_every_product_on_every_pull(
    org: str, pool: AsyncConnectionPool[Any], conn: psycopg.Connection[Any]
) -> None:
    await _org(org, "PATCH", f"/sobjects/Product2/{BOOK}", {"Stock_Quantity__c": 1000})
    await _pull(pool, org)  # products exist with no safety stock
    await _pull(pool, org, safety_stock=5)  # nothing changed in Salesforce since
    safety = conn.execute("SELECT DISTINCT safety_stock FROM commerce.products").fetchall()
    assert safety == [(5,)]
    with pytest.raises(OutOfStockError):
        _sell(conn, "SO-ALL", 1000)
    conn.rollback()
    _sell(conn, "SO-995", 995)
    # A per-product value from Salesforce where the pull names the field; the configured one
    # for products whose field is empty.
    await _org(org, "PATCH", f"/sobjects/Product2/{BOOK}", {"Safety_Stock__c": 2})
    await _pull(pool, org, safety_stock=5, safety_stock_field="Safety_Stock__c")
    rows = conn.execute(
        "SELECT sku, safety_stock FROM commerce.products "
        "WHERE purchase_type = 'physical' ORDER BY sku"
    ).fetchall()
    assert rows == [("WB-101", 2), ("WB-102", 5)]
    assert _position(conn) == (5, 0, 5, 2, 3, True)


async def test_pull_catalog_racing_checkouts_never_sells_a_unit_twice(
    org: str, pool: AsyncConnectionPool[Any], db_url: str, conn: psycopg.Connection[Any]
) -> None:
    stock = 60
    await _org(org, "PATCH", f"/sobjects/Product2/{BOOK}", {"Stock_Quantity__c": stock})
    await _pull(pool, org)
    sold: list[int] = []
    pulls = [0]
    progress = threading.Condition()

    def shopper(name: str) -> None:
        with psycopg.connect(db_url) as shop:
            for n in range(stock):
                with progress:  # every ten units sold, wait for a pull to have run meanwhile
                    progress.wait_for(lambda: pulls[0] >= sum(sold) // 10, timeout=30)
                try:
                    _sell(shop, f"SO-{name}-{n}", 1 + n % 2)
                except OutOfStockError:
                    shop.rollback()
                    if _available(shop) == 0:
                        return
                    continue
                with progress:
                    sold.append(1 + n % 2)

    threads = [threading.Thread(target=shopper, args=(str(i),)) for i in range(3)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):  # pull while the shoppers buy
        await _pull(pool, org)
        with progress:
            pulls[0] += 1
            progress.notify_all()
    for thread in threads:
        thread.join(timeout=60)
    await _pull(pool, org)
    assert pulls[0] >= stock // 10 - 1  # pulls ran between the sales, not only after
    assert sum(sold) == stock  # every unit sold once: none twice, none lost
    assert await _count(org) == (0, _last_movement(conn))
    assert _position(conn) == (0, 0, 0, 0, 0, True)
    lines = conn.execute(
        "SELECT sum(l.quantity) FROM commerce.order_lines l "
        "JOIN commerce.products p ON p.id = l.product_id WHERE p.sku = 'WB-101'"
    ).fetchone()
    assert lines == (stock,)


def _available(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(
        "SELECT available FROM commerce.stock_position WHERE sku = 'WB-101'"
    ).fetchone()
    conn.commit()
    return int(row[0]) if row else 0


def _last_movement(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT max(id) FROM commerce.stock_movements").fetchone()
    conn.commit()
    return int(row[0]) if row and row[0] else 0


async def test_stock_push_repeated_before_the_next_pull_subtracts_nothing_twice(
    org: str, pool: AsyncConnectionPool[Any], conn: psycopg.Connection[Any]
) -> None:
    await _org(org, "PATCH", f"/sobjects/Product2/{BOOK}", {"Stock_Quantity__c": 10})
    await _pull(pool, org)
    _sell(conn, "SO-1", 5)
    async with httpx.AsyncClient() as client:
        api = SalesforceApi(
            client, load_settings("salesforce", {"instance_url": org}, sandbox=True)
        )
        fields = ("Stock_Quantity__c", "Storefront_Stock_Movement__c")
        first = await push_stock(api, pool, *fields)
        again = await push_stock(api, pool, *fields)  # as after a crash before the pull
    assert (first.products, first.units, again.products, again.units) == (1, 5, 0, 0)
    assert await _count(org) == (5, _last_movement(conn))
    await _pull(pool, org)
    assert _position(conn) == (5, 0, 5, 0, 5, True)
