"""The console's charts: attempts rolled up per minute, the sampled lag, the page over both."""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from dispatcher.core.metrics import Metrics
from dispatcher.ops.access import Access
from dispatcher.ops.console import Console
from dispatcher.ops.sampler import Sampler
from dispatcher.ops.web import create_app
from tests.fixtures.console import past_attempts_factory, publish_factory

NOW = datetime.now(UTC).replace(second=30, microsecond=0)  # half way through a minute


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    async with AsyncConnectionPool(
        db_url, min_size=1, max_size=3, open=False, kwargs={"autocommit": True}
    ) as p:
        yield p


def seed(conn: psycopg.Connection[Any]) -> None:
    past = functools.partial(past_attempts_factory, conn, now=NOW)
    past("delivered", 3, timedelta(minutes=30))
    past("retry", 1, timedelta(minutes=30))
    past("dead", 2, timedelta(minutes=10))
    past("delivered", 1, timedelta(seconds=10))  # this minute: not rolled yet
    past("delivered", 5, timedelta(hours=5))  # in the day, not the hour
    past("delivered", 4, timedelta(minutes=2), destination="salesforce")
    publish_factory(conn, {"waiting": True})  # undelivered: a lag to sample


def minutes(conn: psycopg.Connection[Any]) -> dict[tuple[str, int], tuple[int, int, int]]:
    rows = conn.execute(
        "SELECT destination, round(extract(epoch FROM %s - minute) / 60)::int, delivered, "
        "failed, dead FROM outbox.minutes WHERE delivered + failed + dead > 0",
        (NOW.replace(second=0),),
    ).fetchall()
    conn.commit()
    return {(d, ago): (a, b, c) for d, ago, a, b, c in rows}


async def test_sampler_rolls_finished_minutes_up_once(
    conn: psycopg.Connection[Any], pool: AsyncConnectionPool[Any]
) -> None:
    seed(conn)
    sampler = Sampler(pool, Metrics(), 1.0)
    sampler.ROLL_UP_MAX_MINUTES = 25 * 60  # the whole seeded day in one pass
    await sampler.sample()
    await sampler.keep_minutes(now=NOW)
    conn.execute("UPDATE outbox.rollups SET rolled_until = rolled_until - interval '1 hour'")
    conn.commit()
    await sampler.keep_minutes(now=NOW)  # a second count of the same minutes replaces, never adds
    assert minutes(conn) == {
        ("webhook", 30): (3, 1, 0),
        ("webhook", 10): (0, 0, 2),
        ("webhook", 300): (5, 0, 0),
        ("salesforce", 2): (4, 0, 0),
    }
    rolled = conn.execute("SELECT rolled_until FROM outbox.rollups").fetchone()
    # A minute is counted once it ended a minute ago; the page reads the later ones directly.
    assert rolled == (NOW.replace(second=0) - timedelta(minutes=1),)
    lag = conn.execute(
        "SELECT undelivered, oldest_age_seconds > 0 FROM outbox.minutes "
        "WHERE destination = 'webhook' AND minute = date_trunc('minute', %s::timestamptz)",
        (NOW,),
    ).fetchone()
    assert lag == (2, True)  # the one waiting and the one retrying


async def test_a_dispatcher_without_a_page_samples_only_the_lag_its_charts_keep(
    conn: psycopg.Connection[Any], pool: AsyncConnectionPool[Any]
) -> None:
    seed(conn)
    metrics = Metrics()
    sampler = Sampler(pool, metrics, 1.0, served=False)
    await sampler.sample()
    await sampler.keep_minutes(now=NOW)
    lag = conn.execute(
        "SELECT undelivered FROM outbox.minutes "
        "WHERE destination = 'webhook' AND minute = date_trunc('minute', %s::timestamptz)",
        (NOW,),
    ).fetchone()
    assert lag == (2,)
    # The views only a page or a scrape reads were not counted.
    assert sampler.snapshot.backlog == []
    assert sampler.snapshot.attempts == []
    value = metrics.registry.get_sample_value
    assert value("outbox_backlog_messages", {"destination": "webhook", "status": "pending"}) is None
    served = Metrics()
    await Sampler(pool, served, 1.0).sample()
    assert (
        served.registry.get_sample_value(
            "outbox_backlog_messages", {"destination": "webhook", "status": "pending"}
        )
        == 1
    )


async def test_sampler_rolls_a_backlog_of_minutes_in_bounded_passes(
    conn: psycopg.Connection[Any], pool: AsyncConnectionPool[Any]
) -> None:
    seed(conn)
    sampler = Sampler(pool, Metrics(), 1.0)
    sampler.ROLL_UP_MAX_MINUTES = 60 * 20  # the seeded day holds 24 h of minutes
    await sampler.sample()
    await sampler.keep_minutes(now=NOW)
    assert ("webhook", 300) in minutes(conn)
    assert ("webhook", 30) not in minutes(conn)
    await sampler.keep_minutes(now=NOW)
    assert ("webhook", 30) in minutes(conn)


async def test_console_front_page_charts_each_destination(
    conn: psycopg.Connection[Any], pool: AsyncConnectionPool[Any]
) -> None:
    seed(conn)
    metrics = Metrics()
    metrics.breaker_open.labels("webhook").set(2)
    sampler = Sampler(pool, metrics, 1.0)
    sampler.ROLL_UP_MAX_MINUTES = 25 * 60
    await sampler.sample()
    await sampler.keep_minutes(now=NOW)
    console = Console(pool, Access.from_environment({}, "127.0.0.1"), clock=lambda: NOW)
    app = create_app(metrics, sampler, console, mappings_ok=lambda: True, worker_id="w-1")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8700"
    ) as http:
        hour = (await http.get("/")).text
        day = (await http.get("/?window=day")).text
    counts = _svg_data(hour, "counts-webhook-hour")
    assert counts == {"delivered": "4", "failed": "1", "dead": "2"}  # the live minute included
    assert _svg_data(hour, "counts-salesforce-hour")["delivered"] == "4"
    assert _svg_data(day, "counts-webhook-day") == {"delivered": "9", "failed": "1", "dead": "2"}
    assert int(_svg_attr(hour, "age-webhook-hour", "max-age")) >= 0
    card = hour.split('id="card-webhook"')[1].split("</div>")[0]
    assert "open" in card
    assert "not draining" in card  # nothing delivered in the last five whole minutes
    salesforce = hour.split('id="card-salesforce"')[1].split("</div>")[0]
    assert "nothing waiting" in salesforce
    assert "not run by this process" in salesforce


def _svg_data(page: str, ident: str) -> dict[str, str]:
    return {name: _svg_attr(page, ident, name) for name in ("delivered", "failed", "dead")}


def _svg_attr(page: str, ident: str, name: str) -> str:
    tag = re.search(rf'<svg id="{ident}"[^>]*>', page)
    assert tag, f"no chart {ident}"
    found = re.search(rf'data-{name}="([^"]+)"', tag.group(0))
    assert found
    return found.group(1)


async def test_sampler_exports_blocked_keys_per_destination(
    conn: psycopg.Connection[Any], pool: AsyncConnectionPool[Any]
) -> None:
    head = publish_factory(conn, {"n": 1}, key="order:SO-5")
    publish_factory(conn, {"n": 2}, key="order:SO-5")
    conn.execute(
        "UPDATE outbox.messages SET status = 'retrying', attempts = 3, "
        "created_at = now() - interval '20 minutes' WHERE id = %s",
        (head,),
    )
    conn.commit()
    metrics = Metrics()
    await Sampler(pool, metrics, 1.0).sample()
    value = metrics.registry.get_sample_value
    assert value("outbox_blocked_keys", {"destination": "webhook"}) == 1
    assert value("outbox_blocked_keys", {"destination": "salesforce"}) == 0
    held = value("outbox_blocked_key_oldest_seconds", {"destination": "webhook"})
    assert held is not None
    assert held >= 1200
