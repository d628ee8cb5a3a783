"""A full order life through three real ``outbox run`` processes into the Salesforce sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from outbox.shop import record_payment, record_shipment, refund
from sandboxes.salesforce import SandboxState, create_app
from sandboxes.serve import running_app
from tests.conformance.salesforce_org import SECRET_ENV, place, seed_catalog
from tests.fixtures.processes import dispatchers, status_counts, stop, wait_for, write_config

pytestmark = pytest.mark.slow

ORDERS = [f"SO-{n}" for n in range(1, 11)]


def _live_order_lives(conn: psycopg.Connection[Any]) -> None:
    """Each order: placed, paid, two parcels of one workbook each, 30.00 refunded."""
    place(conn, *ORDERS)  # 2 workbooks and one course each: 100.00
    for number in ORDERS:
        record_payment(conn, number, "card", "100.00", f"pi-{number}")
        record_shipment(conn, number, f"{number}-P1", {1: 1}, "UPS", f"1Z-{number}-1")
        record_shipment(conn, number, f"{number}-P2", {1: 1}, "DHL", f"JD-{number}-2")
        refund(conn, number, f"RF-{number}", "30.00", {1: 1})
        conn.commit()


def _delivered_in_id_order(conn: psycopg.Connection[Any]) -> bool:
    """Within each order's key, deliveries finished in the order the messages were published."""
    rows = conn.execute(
        """
        SELECT m.ordering_key, array_agg(m.id ORDER BY a.finished_at, a.id)
          FROM outbox.messages m
          JOIN outbox.attempts a ON a.message_id = m.id AND a.outcome = 'delivered'
         WHERE m.destination = 'salesforce'
         GROUP BY m.ordering_key
        """
    ).fetchall()
    return len(rows) == len(ORDERS) and all(ids == sorted(ids) for _, ids in rows)


def test_order_life_arrives_in_order_with_three_dispatchers(
    db_url: str, conn: psycopg.Connection[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_catalog(conn)
    _live_order_lives(conn)
    monkeypatch.setenv(SECRET_ENV, "sandbox-consumer-secret")
    app = create_app()
    state: SandboxState = app.state.sandbox
    expected = 5 * len(ORDERS)  # placed, paid, shipped twice, refunded
    with running_app(app) as url:
        options = {"instance_url": url, "auth": {"client_secret_env": SECRET_ENV}}
        salesforce = {"type": "salesforce", "batch_size": 3, "concurrency": 2, "options": options}
        config = write_config(tmp_path, salesforce=salesforce)
        with dispatchers(db_url, config, tmp_path / "log", count=3) as procs:
            wait_for(lambda: status_counts(db_url).get("delivered", 0) == expected, timeout=120)
            assert [stop(p) for p in procs] == [0, 0, 0]
    assert _delivered_in_id_order(conn)
    orders = {o["Storefront_Order_Number__c"]: o for o in state.store.rows("Order")}
    assert sorted(orders) == sorted(ORDERS)
    for number, order in orders.items():
        assert (order["Status"], order["Amount_Paid__c"], order["Refunded_Amount__c"]) == (
            "Shipped", 100, 30,
        )  # fmt: skip
        assert state.store.writes["Order"][number].created == 1
    parcels = list(state.store.rows("Shipment__c"))
    assert len(parcels) == 2 * len(ORDERS)
    by_order: dict[str, list[str]] = {}
    for parcel in parcels:
        by_order.setdefault(parcel["Order__c"], []).append(parcel["Tracking_Number__c"])
    assert sorted(len(numbers) for numbers in by_order.values()) == [2] * len(ORDERS)
    assert {o["Id"] for o in orders.values()} == set(by_order)
