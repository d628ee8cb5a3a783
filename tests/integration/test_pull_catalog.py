"""The catalog pull against the Salesforce sandbox: full hydration, paging, watermarks."""

from __future__ import annotations

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
from sandboxes.salesforce import SandboxSettings, create_app
from sandboxes.serve import running_app


@pytest.fixture
def org() -> Iterator[tuple[str, Any]]:
    app = create_app(SandboxSettings(query_batch_size=3))
    with running_app(app) as url:
        yield url, app.state.sandbox


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    async with AsyncConnectionPool(
        db_url, min_size=1, max_size=4, open=False, kwargs={"autocommit": True}
    ) as p:
        yield p


async def _pull(pool: AsyncConnectionPool[Any], url: str) -> str | None:
    org = SalesforceOrg({"instance_url": url}, sandbox=True)
    settings = pull_catalog.Settings(org, PullCatalogConfig(safety_stock=2))
    job = Job("pull_catalog", 300.0, pull_catalog.run, settings)
    async with httpx.AsyncClient() as client:
        context = JobContext(pool, "w", structlog.get_logger("test"), client=client)
        ran, detail = await run_job(job, context, force=True)
    assert ran
    return detail


async def test_pull_catalog_hydrates_then_reads_only_changes(
    org: tuple[str, Any], pool: AsyncConnectionPool[Any], conn: psycopg.Connection[Any]
) -> None:
    url, sandbox = org
    first = await _pull(pool, url)
    assert first == "read 7 product(s) and 7 price(s), changed 7 row(s), 0 error(s)"
    rows = conn.execute(
        "SELECT sku, purchase_type::text, price, stock, safety_stock, thinkific_course_id "
        "FROM commerce.products ORDER BY sku"
    ).fetchall()
    assert rows[0] == ("DL-301", "digital_license", Decimal("40.00"), None, 2, 1001)
    assert rows[-2] == ("WB-101", "physical", Decimal("30.00"), 5000, 2, None)
    conn.commit()
    assert sandbox.calls["query.more"] >= 4  # seven rows in pages of three, for two objects

    async with httpx.AsyncClient() as client:
        api = SalesforceApi(
            client, load_settings("salesforce", {"instance_url": url}, sandbox=True)
        )
        await api.call(
            "PATCH", "/sobjects/Product2/01tDm0000000001IAA", json={"Stock_Quantity__c": 42}
        )
    second = await _pull(pool, url)
    assert second is not None
    assert second.endswith("changed 1 row(s), 0 error(s)")
    stock = conn.execute("SELECT stock FROM commerce.products WHERE sku = 'WB-101'").fetchone()
    assert stock == (42,)
    runs = conn.execute(
        "SELECT rows_changed, errors, finished_at IS NOT NULL FROM outbox.sync_runs ORDER BY id"
    ).fetchall()
    assert runs == [(7, 0, True), (1, 0, True)]
    marks = conn.execute("SELECT source FROM outbox.sync_watermarks ORDER BY 1").fetchall()
    assert marks == [("salesforce.PricebookEntry",), ("salesforce.Product2",)]
