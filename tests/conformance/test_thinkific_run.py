"""A real ``outbox run`` process delivers to the Thinkific sandbox on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from outbox import publish
from sandboxes.serve import running_app
from sandboxes.thinkific import API_BASE, SandboxSettings, create_app
from tests.conformance.test_thinkific_site import enrollment_payload_factory, thinkific_options
from tests.fixtures.processes import dispatchers, status_counts, stop, wait_for, write_config

pytestmark = pytest.mark.slow


def statuses(db_url: str, destination: str) -> dict[str, int]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT status::text, count(*) FROM outbox.messages WHERE destination = %s GROUP BY 1",
            (destination,),
        ).fetchall()
    return dict(rows)


def test_thinkific_course_is_enrolled_while_salesforce_fails_every_call(
    db_url: str, conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    """Each destination fails alone: a dead Salesforce endpoint never delays an enrollment."""
    payloads = [enrollment_payload_factory() for _ in range(3)]
    for number, payload in enumerate(payloads, 1):
        publish(conn, "thinkific", "enrollment.requested", payload)
        publish(conn, "salesforce", "order.placed", {"order": {"number": f"SO-{number}"}})
    conn.commit()
    app = create_app(SandboxSettings(random_seed=5))
    with running_app(app) as url:
        options = thinkific_options(base_url=url + API_BASE)
        config = write_config(
            tmp_path,
            dispatcher={"poll_interval_seconds": 0.2},
            thinkific={"type": "thinkific", "batch_size": 10, "options": options},
            salesforce={"type": "webhook", "url": "http://127.0.0.1:9/refused", "batch_size": 10},
        )
        with dispatchers(db_url, config, tmp_path / "log") as (proc,):
            wait_for(lambda: statuses(db_url, "thinkific").get("delivered", 0) == 3, timeout=60)
            assert stop(proc) == 0
        report = httpx.get(f"{url}/__sandbox/enrollments").json()
    assert {item["user_email"] for item in report["items"]} == {
        p["customer"]["email"] for p in payloads
    }
    assert statuses(db_url, "salesforce").get("delivered", 0) == 0
    assert sum(status_counts(db_url).values()) == 6
    record_ids = conn.execute(
        "SELECT destination_record_id FROM outbox.messages WHERE destination = 'thinkific'"
    ).fetchall()
    assert {str(e["enrollments"][0]["id"]) for e in report["items"]} == {r[0] for r in record_ids}
