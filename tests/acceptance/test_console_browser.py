"""The operator console in a real browser against a real daemon: charts, search, a message's
life, and a retry that needs a signed-in operator and leaves its audit row.

Screenshots of every page go to ``$OUTBOX_SCREENSHOT_DIR`` (or the test's temporary folder)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from outbox.shop import place_order
from tests.fixtures.catalog import customer_factory, line, order_factory, product_factory
from tests.fixtures.console import past_attempts_factory, publish_factory
from tests.fixtures.processes import (
    announced_url,
    dispatchers,
    status_counts,
    stop,
    wait_for,
    write_config,
)
from tests.fixtures.webhook_server import Receiver, webhook_receiver

pytestmark = pytest.mark.slow
TOKEN = "console-token-of-ada-01"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as r:
        yield r


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("OUTBOX_SCREENSHOT_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser() -> Iterator[Any]:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no Chromium on this machine (.ci/run installs Debian's chromium package)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a test dependency")
    with sync_api.sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=path,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


def seed_shop(conn: psycopg.Connection[Any], receiver: Receiver) -> None:
    """An hour with history, two webhook messages that will die, and an order waiting."""
    past_attempts_factory(conn, "delivered", 6, timedelta(minutes=12))
    past_attempts_factory(conn, "retry", 2, timedelta(minutes=7))
    receiver.script((422, {}), (422, {}))
    for n in range(2):
        publish_factory(conn, {"sku": f"BAD-{n}"}, event_type="product.synced")
    for n in range(3):
        publish_factory(conn, {"n": n}, event_type="order.synced")
    book = product_factory(conn)
    buyer = customer_factory(email="ada.lovelace@example.org", last_name="Lovelace")
    place_order(conn, order_factory(line(book), number="SO-1042", customer=buyer))
    conn.commit()


def start(db_url: str, receiver: Receiver, tmp_path: Path) -> tuple[Path, Path]:
    config = write_config(
        tmp_path,
        dispatcher={"sample_interval_seconds": 0.2},
        webhook={"type": "webhook", "url": receiver.url, "batch_size": 1},
    )
    return config, tmp_path / "log"


def test_console_in_a_browser_charts_search_and_a_message_life(
    db_url: str, conn: psycopg.Connection[Any], receiver: Receiver, tmp_path: Path,
    shots: Path, browser: Any,
) -> None:  # fmt: skip
    seed_shop(conn, receiver)
    config, log = start(db_url, receiver, tmp_path)
    with dispatchers(db_url, config, log) as (proc,):
        base = announced_url(log)
        wait_for(lambda: status_counts(db_url).get("dead", 0) == 2)
        wait_for(lambda: status_counts(db_url).get("delivered", 0) == 9)
        wait_for(lambda: 'data-delivered="9"' in httpx.get(base).text, timeout=30)
        page = browser.new_page(
            viewport={"width": 1280, "height": 900}, timezone_id="Europe/Paris", locale="en-GB"
        )
        page.goto(base)
        chart = page.locator("svg#counts-webhook-hour")
        figures = {k: chart.get_attribute(f"data-{k}") for k in ("delivered", "failed", "dead")}
        lines = chart.locator("polyline").count()
        local_time = page.locator("#attempts time").first.get_attribute("title")
        page.screenshot(path=str(shots / "console-front.png"), full_page=True)
        page.goto(base + "find")
        page.fill("input[name=q]", "ada.lovelace@example.org")
        page.click("form.find button")
        found = page.locator("#results tbody tr").all_inner_texts()
        echoed = page.input_value("input[name=q]")
        page.screenshot(path=str(shots / "console-find.png"), full_page=True)
        page.click("#results tbody tr:first-child a")
        payload = page.inner_text("#payload")
        facts = page.inner_text("#facts")
        page.screenshot(path=str(shots / "console-message.png"), full_page=True)
        page.goto(base + "dead")
        causes = page.locator("#causes tbody tr").all_inner_texts()
        forms = page.locator("form.act").count()
        page.screenshot(path=str(shots / "console-dead.png"), full_page=True)
        assert stop(proc) == 0
    assert figures == {"delivered": "9", "failed": "2", "dead": "2"}
    assert lines == 3
    assert local_time is not None
    assert local_time.endswith("CET")  # the script shows the instant in the reader's zone
    assert len(found) == 1
    assert "order.placed" in found[0]
    assert "SO-1042" not in echoed
    assert echoed == "a***@example.org"
    assert "SO-1042" in payload
    assert "a***@example.org" in payload
    assert "Lovelace" not in payload
    assert "ordering key\ncustomer:c-" in facts  # a customer's Salesforce messages share a key
    assert "order.placed:SO-1042" in facts
    assert any("HTTP_422" in row and "\t2\t" in row for row in causes)
    assert forms == 0  # nobody signed in: nothing to act with


def test_console_in_a_browser_retry_needs_a_token_and_is_audited(
    db_url: str, conn: psycopg.Connection[Any], receiver: Receiver, tmp_path: Path,
    shots: Path, browser: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("OUTBOX_CONSOLE_USERS", f"ada:{TOKEN}")
    seed_shop(conn, receiver)
    config, log = start(db_url, receiver, tmp_path)
    with dispatchers(db_url, config, log) as (proc,):
        base = announced_url(log)
        wait_for(lambda: status_counts(db_url).get("dead", 0) == 2)
        dead_id = _first_dead(conn)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(base + "dead")
        anonymous = page.request.post(
            base + "actions/retry", form={"message_id": str(dead_id), "reason": "try it"}
        )
        refused = (anonymous.status, anonymous.text())
        page.goto(base + "login?next=/dead")
        page.fill("input[name=name]", "ada")
        page.fill("input[name=token]", "not-the-token-at-all")
        page.click("form.login button")
        wrong = page.inner_text("#problem")
        page.screenshot(path=str(shots / "console-login-refused.png"), full_page=True)
        page.fill("input[name=name]", "ada")
        page.fill("input[name=token]", TOKEN)
        page.click("form.login button")
        row = page.locator("#dead tbody tr", has=page.locator(f'a[href="/messages/{dead_id}"]'))
        row.locator("form.act:not(.danger) input[name=reason]").fill("receiver fixed")
        row.locator("form.act:not(.danger) button").click()
        page.wait_for_url(f"**/messages/{dead_id}?notice=*")
        notice = page.inner_text("#notice")
        page.screenshot(path=str(shots / "console-retried.png"), full_page=True)
        wait_for(lambda: _status(conn, dead_id) == "delivered")
        assert stop(proc) == 0
    assert refused[0] == 401
    assert "sign in" in refused[1]
    assert wrong == "Wrong name or token."
    assert notice == f"message {dead_id} queued again"
    audit = conn.execute(
        "SELECT actor, action, message_id, reason, affected FROM outbox.operator_actions"
    ).fetchall()
    assert audit == [("console:ada", "retry", dead_id, "receiver fixed", 1)]


def _first_dead(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT min(id) FROM outbox.messages WHERE status = 'dead'").fetchone()
    conn.commit()
    assert row is not None
    return int(row[0])


def _status(conn: psycopg.Connection[Any], message_id: int) -> str:
    row = conn.execute("SELECT status::text FROM outbox.messages WHERE id = %s", (message_id,))
    found = row.fetchone()
    conn.commit()
    return str(found[0]) if found else ""
