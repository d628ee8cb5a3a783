"""``outbox run`` delivering checkouts to the Salesforce sandbox served on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from sandboxes.salesforce import SandboxState, create_app
from sandboxes.serve import running_app
from tests.conformance.salesforce_org import SECRET_ENV, place, seed_catalog
from tests.fixtures.processes import dispatchers, stop, wait_for, write_config

pytestmark = pytest.mark.slow


def _delivered(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM outbox.messages"
            " WHERE destination = 'salesforce' AND status = 'delivered'"
        ).fetchone()
    return int(row[0]) if row else 0


def test_outbox_run_delivers_orders_to_the_salesforce_sandbox(
    db_url: str, conn: psycopg.Connection[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_catalog(conn)
    place(conn, *(f"SO-{n}" for n in range(1, 21)))
    monkeypatch.setenv(SECRET_ENV, "sandbox-consumer-secret")
    app = create_app()
    state: SandboxState = app.state.sandbox
    with running_app(app) as url:
        options = {"instance_url": url, "auth": {"client_secret_env": SECRET_ENV}}
        config = write_config(tmp_path, salesforce={"type": "salesforce", "options": options})
        with dispatchers(db_url, config, tmp_path / "log") as (proc,):
            wait_for(lambda: _delivered(db_url) == 20, timeout=60)
            assert stop(proc) == 0
    assert len(list(state.store.rows("Order"))) == 20
    assert len(list(state.store.rows("OrderItem"))) == 40
    record_ids = conn.execute(
        "SELECT count(DISTINCT destination_record_id) FROM outbox.messages"
        " WHERE destination = 'salesforce'"
    ).fetchone()
    assert record_ids == (20,)
