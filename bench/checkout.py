"""Checkouts per second, and what publishing to the outbox adds to a checkout.

One customer, three lines (a workbook, a course license, a workshop seat). Runs alternate
publishing off and on in rounds inside one process, so both see the same server state; the
ratio is the outbox's cost. Target: publishing adds at most 15%.

    python -m bench.checkout [--orders 2000]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from decimal import Decimal
from typing import Any

import psycopg

from bench.harness import figure, machine, scratch_database
from outbox.shop import CartLine, Customer, OrderRequest, place_order

ROUNDS = 40


def _catalog(conn: psycopg.Connection[Any]) -> int:
    conn.execute(
        """
        INSERT INTO commerce.products (sku, name, purchase_type, price, stock, thinkific_course_id)
        VALUES ('B-1', 'Workbook', 'physical', 30, 100000000, NULL),
               ('B-2', 'Course', 'digital_license', 40, NULL, 1001),
               ('B-3', 'Workshop', 'paid_event', 150, NULL, NULL)
        """
    )
    row = conn.execute(
        "INSERT INTO commerce.event_sessions (product_id, name, starts_at, capacity) "
        "SELECT id, 'Leeds', now() + interval '30 days', 100000000 FROM commerce.products "
        "WHERE sku = 'B-3' RETURNING id"
    ).fetchone()
    conn.commit()
    assert row is not None
    return int(row[0])


def _order(session_id: int) -> OrderRequest:
    n = uuid.uuid4().hex[:10]
    return OrderRequest(
        order_number=f"B-{n}",
        customer=Customer(email=f"b{n}@example.org", first_name="Ada", last_name="Lovelace"),
        lines=(
            CartLine("B-1", 2, Decimal("30.00")),
            CartLine("B-2", 1, Decimal("40.00")),
            CartLine("B-3", 1, Decimal("150.00"), event_session_id=session_id),
        ),
        payment_method="card",
    )


def _round(conn: psycopg.Connection[Any], session_id: int, count: int, publish: bool) -> float:
    orders = [_order(session_id) for _ in range(count)]
    started = time.perf_counter()
    for order in orders:
        place_order(conn, order, publish=publish)
        conn.commit()
    return (time.perf_counter() - started) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=2000, help="orders per mode (default 2000)")
    args = parser.parse_args()
    per_round = max(1, args.orders // ROUNDS)
    with scratch_database() as url, psycopg.connect(url) as conn:
        session_id = _catalog(conn)
        _round(conn, session_id, 50, True)  # warm up caches and prepared statements
        off: list[float] = []
        on: list[float] = []
        for _ in range(ROUNDS):
            off.append(_round(conn, session_id, per_round, False))
            on.append(_round(conn, session_id, per_round, True))
    print(f"checkout benchmark · {machine()} · {per_round * ROUNDS} orders per mode")
    off_s, on_s = statistics.median(off), statistics.median(on)
    figure("checkouts per second, publishing off", 1 / off_s, "orders/s")
    figure("checkouts per second, publishing on", 1 / on_s, "orders/s")
    figure("checkout latency, publishing on", on_s * 1000, "ms", "median of rounds")
    figure("outbox overhead", (on_s / off_s - 1) * 100, "%", "target <= 15%")


if __name__ == "__main__":
    main()
