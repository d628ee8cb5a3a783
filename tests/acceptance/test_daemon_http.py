"""The daemon's HTTP side as Prometheus, a load balancer and an operator's browser see it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from outbox.shop import place_order
from tests.fixtures.catalog import line, order_factory, product_factory
from tests.fixtures.processes import dispatchers, status_counts, stop, wait_for, write_config
from tests.fixtures.webhook_server import Receiver, webhook_receiver

pytestmark = pytest.mark.slow


@pytest.fixture
def receiver() -> Any:
    with webhook_receiver() as r:
        yield r


def _status_url(log: Path) -> str:
    found: list[str] = []

    def announced() -> bool:
        found.extend(re.findall(r'"url": "(http://127\.0\.0\.1:\d+/)"', log.read_text()))
        return bool(found)

    wait_for(announced, timeout=30)
    return found[0]


def test_daemon_serves_metrics_health_and_readiness(
    db_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    receiver.script((422, {}))  # the first request fails for good
    with psycopg.connect(db_url) as conn:
        conn.execute("SELECT outbox.publish('webhook', 'bad.event', '{}')")
        book = product_factory(conn)
        place_order(conn, order_factory(line(book), number="SO-STUCK"))
        conn.execute("UPDATE commerce.orders SET placed_at = now() - interval '1 hour'")
        conn.execute(
            "INSERT INTO outbox.mapping_drift (destination, object_name, field, kind, detail) "
            "VALUES ('salesforce', 'Contact', 'Email', 'missing_field', 'renamed')"
        )
    config = write_config(
        tmp_path,
        dispatcher={"sample_interval_seconds": 0.2},
        webhook={"type": "webhook", "url": receiver.url, "batch_size": 1},
    )
    log = tmp_path / "log"
    with dispatchers(db_url, config, log) as (proc,):
        base = _status_url(log)
        wait_for(lambda: status_counts(db_url).get("dead", 0) == 1)
        with psycopg.connect(db_url) as conn:
            for n in range(5):
                conn.execute(
                    "SELECT outbox.publish('webhook', 'order.placed', %s)", (f'{{"n": {n}}}',)
                )
        wait_for(lambda: status_counts(db_url).get("delivered", 0) == 5)
        # Gauges come from the sampler every 0.2 s: wait for the sample that saw the dead
        # letter rather than for a fixed time a busy machine may not honour.
        sampled = (
            'outbox_backlog_messages{destination="webhook",status="dead"} 1.0',
            'outbox_reconciliation_gaps{problem="order_not_in_salesforce"} 1.0',
            'outbox_mapping_drift_findings{destination="salesforce"} 1.0',
        )
        wait_for(lambda: all(s in httpx.get(base + "metrics").text for s in sampled), timeout=30)
        metrics = httpx.get(base + "metrics").text
        health = httpx.get(base + "healthz")
        ready = httpx.get(base + "readyz")
        page = httpx.get(base).text
        assert stop(proc) == 0
    delivered = 'event_type="order.placed",outcome="delivered"} 5.0'
    assert f'outbox_messages_total{{destination="webhook",{delivered}' in metrics
    assert (
        'outbox_messages_total{destination="webhook",event_type="bad.event",outcome="dead"} 1.0'
        in metrics
    )
    assert 'outbox_backlog_messages{destination="webhook",status="dead"} 1.0' in metrics
    assert "outbox_claim_duration_seconds_bucket" in metrics
    assert 'outbox_reconciliation_gaps{problem="order_not_in_salesforce"} 1.0' in metrics
    assert 'outbox_mapping_drift_findings{destination="salesforce"} 1.0' in metrics
    assert health.json()["status"] == "alive"
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "mappings": True}
    assert "HTTP_422" in page


def test_status_page_in_a_real_browser(db_url: str, receiver: Receiver, tmp_path: Path) -> None:
    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser_path is None:
        pytest.skip("no Chromium on this machine (.ci/run installs Debian's chromium package)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a test dependency")
    receiver.script((400, {}))
    with psycopg.connect(db_url) as conn:
        conn.execute("SELECT outbox.publish('webhook', 'profile.changed', '{}')")
    config = write_config(
        tmp_path,
        dispatcher={"sample_interval_seconds": 0.2},
        webhook={"type": "webhook", "url": receiver.url},
    )
    log = tmp_path / "log"
    with dispatchers(db_url, config, log) as (proc,):
        base = _status_url(log)
        wait_for(lambda: status_counts(db_url).get("dead", 0) == 1)
        wait_for(lambda: "HTTP_400" in httpx.get(base).text, timeout=30)  # sampled and shown
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=browser_path,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page()
            page.goto(base)
            assert page.title() == "outbox dispatcher"
            dead_rows = page.locator("#dead tr").all_inner_texts()
            refresh = page.locator('meta[http-equiv="refresh"]').get_attribute("content")
            page.screenshot(path=str(tmp_path / "status.png"))
            browser.close()
        assert stop(proc) == 0
    assert any("profile.changed" in row and "HTTP_400" in row for row in dead_rows)
    assert refresh == "5"
