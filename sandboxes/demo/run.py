"""The demo run: sandboxes, catalog pull, checkouts, the dispatcher, a live view and checks.

Everything runs on this machine: the embedded PostgreSQL (or the configured one), the
Salesforce and Thinkific sandboxes on loopback ports, and the real dispatcher in this process.
The Thinkific sandbox runs at a Thinkific Plus rate (1,200 requests a minute) so the default
500 orders finish within a minute; the dispatcher paces itself to whatever limit it is given.
"""

from __future__ import annotations

import asyncio
import os
import random
import time

import httpx
import psycopg
import structlog
from psycopg_pool import AsyncConnectionPool
from rich.console import Console
from rich.live import Live

from dispatcher import daemon
from dispatcher.config import (
    Config,
    DispatcherConfig,
    JobsConfig,
    RetryConfig,
    SalesforceDestinationConfig,
    ThinkificDestinationConfig,
)
from dispatcher.destinations.salesforce.settings import SalesforceOptions
from dispatcher.destinations.thinkific.settings import ThinkificOptions
from dispatcher.maintenance import pull_catalog
from dispatcher.maintenance.org import SalesforceOrg
from dispatcher.maintenance.scheduler import Job, JobContext, run_job
from sandboxes import thinkific as thinkific_sandbox
from sandboxes.demo import report
from sandboxes.demo.boxes import THINKIFIC_DEMO_RATE, Sandboxes
from sandboxes.demo.shop import (
    DemoShop,
    IncompleteCatalogError,
    add_sessions,
    catalog_gaps,
    load_catalog,
)

THINKIFIC_KEY_ENV = "OUTBOX_DEMO_THINKIFIC_API_KEY"
# Short backoff, so a --chaos run shows retries and recovery within the minute rather than over
# the day a production schedule spreads them across.
DEMO_RETRY = RetryConfig(max_attempts=15, backoff_base_seconds=0.5, backoff_cap_seconds=5)


def demo_config(
    boxes: Sandboxes, destinations: tuple[str, ...] = ("salesforce", "thinkific")
) -> Config:
    os.environ.setdefault(THINKIFIC_KEY_ENV, thinkific_sandbox.SandboxSettings().api_key)
    config = Config(
        dispatcher=DispatcherConfig(http_port=None, poll_interval_seconds=0.5),
        jobs=JobsConfig(enabled=False),
        destinations={
            "salesforce": SalesforceDestinationConfig(
                type="salesforce",
                sandbox=True,
                batch_size=200,
                concurrency=2,
                retry=DEMO_RETRY,
                options=SalesforceOptions(instance_url=boxes.salesforce_url),
            ),
            "thinkific": ThinkificDestinationConfig(
                type="thinkific",
                sandbox=True,
                batch_size=25,
                concurrency=2,
                retry=DEMO_RETRY,
                options=ThinkificOptions(
                    base_url=f"{boxes.thinkific_url}/api/public/v1",
                    subdomain=thinkific_sandbox.SandboxSettings().subdomain,
                    api_key_env=THINKIFIC_KEY_ENV,
                    requests_per_minute=THINKIFIC_DEMO_RATE,
                ),
            ),
        },
    )
    chosen = {name: d for name, d in config.destinations.items() if name in destinations}
    return config.model_copy(update={"destinations": chosen})


async def pull(url: str, boxes: Sandboxes) -> str | None:
    org = SalesforceOrg({"instance_url": boxes.salesforce_url}, sandbox=True)
    job = Job("pull_catalog", 300.0, pull_catalog.run, pull_catalog.Settings(org))
    return await run_once(url, job)


async def run_once(url: str, job: Job) -> str | None:
    """One tick of a scheduled job against the sandboxes, as a dispatcher would run it."""
    async with (
        httpx.AsyncClient() as client,
        AsyncConnectionPool(
            url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}
        ) as pool,
    ):
        context = JobContext(
            pool, daemon.new_worker_id(), structlog.get_logger("demo"), client=client
        )
        _, detail = await run_job(job, context, force=True)
    return detail


def pull_until_complete(url: str, boxes: Sandboxes, attempts: int = 20) -> str | None:
    """Pull the catalog until every purchase type has a product, as the job's next ticks would.

    Injected faults may fail a pull, or fail it halfway through the pages; a storefront cannot
    sell what it has not pulled, so orders start only once the catalog is whole. Raises
    ``IncompleteCatalogError`` naming what is still missing after ``attempts`` pulls.
    """
    gaps: list[str] = []
    detail: str | None = None
    for _ in range(attempts):
        detail = asyncio.run(pull(url, boxes))
        with psycopg.connect(url) as conn:
            gaps = catalog_gaps(load_catalog(conn))
        if not gaps:
            return detail
    raise IncompleteCatalogError(gaps)


def place_orders(url: str, count: int, seed: int) -> DemoShop:
    shop = DemoShop(random.Random(seed))
    with psycopg.connect(url) as conn:
        add_sessions(conn)
        catalog = load_catalog(conn)
        for n in range(1, count + 1):
            shop.place(conn, shop.order(n, catalog))
    return shop


async def deliver(
    url: str, config: Config, shop: DemoShop, console: Console, limit_seconds: float
) -> float:
    """Run the dispatcher until every message of this run is settled, showing progress."""
    stopping = asyncio.Event()
    started = time.monotonic()
    task = asyncio.create_task(daemon.run(config, url, stopping=stopping))
    with Live(console=console, refresh_per_second=8) as live:
        while time.monotonic() - started < limit_seconds:
            counts = await asyncio.to_thread(report.progress, url, shop.prefix)
            live.update(report.progress_table(counts, time.monotonic() - started))
            settled = bool(counts) and not any(report.live(c) for c in counts.values())
            if settled or task.done():
                break
            await asyncio.sleep(0.25)
    stopping.set()
    await task
    return time.monotonic() - started
