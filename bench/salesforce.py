"""Salesforce destination: orders per second and API calls per order against the sandbox.

A real ``outbox run`` process delivers ``order.placed`` messages to the Salesforce sandbox
served on loopback, with ``--latency-ms`` of latency injected into every API request. Prints
the drain rate of a backlog, its API calls per order, the calls per order of a trickle
where each order is published only after the previous one was delivered, and the calls per
order of a trickle of whole lives: an order placed, paid and shipped in one storefront
transaction, so the three messages of its key are claimed together, and the calls per message
of a backlog of such lives committed at once, so many keys' runs share a batch.

    python -m bench.salesforce [--orders 5000] [--latency-ms 50] [--trickle 30] [--lives 30]
                               [--backlog-lives 20]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import yaml

from bench.harness import figure, machine, scratch_database
from outbox.shop import place_order, record_payment, record_shipment
from outbox.shop.models import CartLine, Customer, OrderRequest
from sandboxes.salesforce import FaultKind, SandboxState, create_app, load_seed
from sandboxes.serve import running_app

SECRET_ENV = "BENCH_SALESFORCE_SECRET"

_PUBLISH = """
INSERT INTO outbox.messages (destination, event_type, payload, ordering_key, idempotency_key)
SELECT 'salesforce', 'order.placed', jsonb_build_object(
         'customer', jsonb_build_object('id', 'c-' || g, 'email', 'b' || g || '@example.org',
             'first_name', 'Ada', 'last_name', 'Buyer ' || g, 'organisation', null,
             'locale', 'en_US', 'marketing_consent', g %% 2 = 0, 'guest', false),
         'order', jsonb_build_object('number', 'SO-' || g, 'status', 'placed', 'currency', 'USD',
             'subtotal', '72.50', 'tax', '0.00', 'total', '72.50', 'payment_method', 'card',
             'placed_at', '2026-11-25T10:00:00+00:00'),
         'lines', jsonb_build_array(
             jsonb_build_object('line_id', 'SO-' || g || '-1', 'line_number', 1, 'sku', 'WB-101',
                 'product_name', 'Wound care workbook', 'purchase_type', 'physical',
                 'quantity', 2, 'unit_price', '30.00', 'tax', '0.00', 'line_total', '60.00'),
             jsonb_build_object('line_id', 'SO-' || g || '-2', 'line_number', 2, 'sku', 'WB-102',
                 'product_name', 'Infection control pocket guide', 'purchase_type', 'physical',
                 'quantity', 1, 'unit_price', '12.50', 'tax', '0.00', 'line_total', '12.50'))),
       'order:SO-' || g, 'order.placed:SO-' || g
  FROM generate_series(%s::int, %s::int) g
"""


def _catalog(url: str) -> None:
    with psycopg.connect(url) as conn:
        for p in load_seed().products:
            conn.execute(
                "INSERT INTO commerce.products (sku, name, purchase_type, price, stock,"
                " thinkific_course_id, license_term_days, salesforce_product2_id,"
                " salesforce_pricebook_entry_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    p.sku,
                    p.name,
                    p.purchase_type,
                    p.price,
                    p.stock,
                    p.thinkific_course_id,
                    p.license_term_days,
                    p.product2_id,
                    p.pricebook_entry_id,
                ),
            )


def _publish(url: str, first: int, last: int) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(_PUBLISH, (first, last))


def _lives(url: str, numbers: range) -> None:
    """Orders placed, paid and shipped in one transaction: three messages of each one's key."""
    with psycopg.connect(url) as conn:
        for n in numbers:
            _live(conn, n)


def _live(conn: psycopg.Connection[Any], n: int) -> None:
    number = f"LIFE-{n}"
    buyer = Customer(email=f"life{n}@example.org", first_name="Ada", last_name=f"Buyer {n}")
    lines = (CartLine("WB-101", 2, Decimal("30.00")), CartLine("WB-102", 1, Decimal("12.50")))
    place_order(conn, OrderRequest(number, buyer, lines, payment_method="card"))
    record_payment(conn, number, "card", "72.50", f"pi_{n}")
    record_shipment(conn, number, f"P-{n}", {1: 2, 2: 1}, "UPS", f"1Z{n:06d}")


def _delivered(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE status = 'delivered'),"
            " count(*) FILTER (WHERE status = 'dead') FROM outbox.messages"
        ).fetchone()
    assert row is not None
    if row[1]:
        raise SystemExit(f"{row[1]} messages died; see outbox.dead_letters")
    return int(row[0])


def _wait(url: str, count: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while _delivered(url) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {_delivered(url)} of {count} delivered in {timeout} s")
        time.sleep(0.02)


def _dispatcher(url: str, sandbox_url: str, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    destination: dict[str, Any] = {
        "type": "salesforce", "batch_size": args.batch, "concurrency": args.concurrency,
        "options": {"instance_url": sandbox_url, "auth": {"client_secret_env": SECRET_ENV}},
    }  # fmt: skip
    config = {
        "dispatcher": {"poll_interval_seconds": 0.2},
        "destinations": {"salesforce": destination},
    }
    path = Path(tempfile.mkstemp(suffix=".yaml")[1])
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "OUTBOX_DATABASE_URL": url, SECRET_ENV: "sandbox-consumer-secret"}
    command = [sys.executable, "-m", "dispatcher", "run", "--config", str(path), "--no-migrate"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run(url: str, args: argparse.Namespace) -> None:
    _catalog(url)
    app = create_app()
    state: SandboxState = app.state.sandbox
    state.faults.inject(FaultKind.LATENCY, latency_ms=args.latency_ms)
    with running_app(app) as sandbox_url:
        proc = _dispatcher(url, sandbox_url, args)
        try:
            _publish(url, 1, 1)  # sign in and read the price book before the clock starts
            _wait(url, 1)
            before = state.usage.used
            _publish(url, 2, args.orders + 1)
            started = time.perf_counter()
            _wait(url, args.orders + 1)
            elapsed = time.perf_counter() - started
            backlog_calls = state.usage.used - before
            before = state.usage.used
            for n in range(args.orders + 2, args.orders + 2 + args.trickle):
                _publish(url, n, n)
                _wait(url, n)
            trickle_calls = state.usage.used - before
            before, published = state.usage.used, args.orders + 1 + args.trickle
            for n in range(args.lives):
                _lives(url, range(n, n + 1))
                published += 3
                _wait(url, published)
            life_calls = state.usage.used - before
            before = state.usage.used
            _lives(url, range(args.lives, args.lives + args.backlog_lives))
            published += 3 * args.backlog_lives
            _wait(url, published)
            backlog_life_calls = state.usage.used - before
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    note = f"{args.orders:,} orders, {args.latency_ms} ms per request"
    figure("backlog drain", args.orders / elapsed, "orders/s", note)
    figure("API calls per order, backlog", backlog_calls / args.orders, "calls",
           f"{backlog_calls} calls for {args.orders:,} orders")  # fmt: skip
    figure("API calls per order, trickle", trickle_calls / args.trickle, "calls",
           f"{args.trickle} orders one at a time")  # fmt: skip
    if args.lives:
        figure("API calls per order, placed + paid + shipped", life_calls / args.lives, "calls",
               f"{args.lives} orders one at a time, each paid and shipped at checkout")  # fmt: skip
    if args.backlog_lives:
        messages = 3 * args.backlog_lives
        figure("API calls per message, backlog of lives", backlog_life_calls / messages, "calls",
               f"{backlog_life_calls} calls for {args.backlog_lives} orders placed, paid and "
               "shipped, committed at once")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--trickle", type=int, default=30)
    parser.add_argument("--lives", type=int, default=30)
    parser.add_argument("--backlog-lives", type=int, default=20)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    print(f"salesforce destination benchmark · {machine()}")
    with scratch_database() as url:
        run(url, args)


if __name__ == "__main__":
    main()
