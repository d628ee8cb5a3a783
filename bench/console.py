"""The operator console's reads on a large outbox: every page must stay fast as history grows.

    python -m bench.console [--messages 2000000] [--attempts 10000000] [--dead 100000]

Seeds a week of history (messages with their orders and customers, attempts appended in time
order as the dispatcher writes them, a share of dead letters under a few error codes), rolls the
week's attempts up per minute as the sampler does, then times each read the console makes (the
median of several runs, warm cache) next to the naive alternative the roll-up replaces.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from bench.harness import figure, machine, scratch_database
from dispatcher.ops.console import search_terms
from dispatcher.ops.sampler import Sampler, roll_up_minutes
from outbox.queries import query

RUNS = 7
NAIVE_DAY = """
SELECT m.destination, date_trunc('minute', a.finished_at),
       count(*) FILTER (WHERE a.outcome = 'delivered'),
       count(*) FILTER (WHERE a.outcome = 'retry'), count(*) FILTER (WHERE a.outcome = 'dead')
  FROM outbox.attempts a JOIN outbox.messages m ON m.id = a.message_id
 WHERE a.finished_at >= now() - interval '1 day'
 GROUP BY 1, 2
"""


def seed(conn: psycopg.Connection[Any], messages: int, attempts: int, dead: int) -> None:
    week = 7 * 86400
    conn.execute("SET synchronous_commit = off")
    conn.execute(
        """
        INSERT INTO commerce.customers (email, last_name)
        SELECT 'buyer' || g || '@example.org', 'Buyer' || g FROM generate_series(1, %(n)s) g
        """,
        {"n": messages // 4},
    )
    conn.execute(
        """
        INSERT INTO commerce.orders
               (order_number, customer_id, currency, subtotal, total, placed_at)
        SELECT 'SO-' || g, 1 + g %% %(customers)s, 'EUR', 10, 10,
               now() - make_interval(secs => %(week)s * (1 - g::float8 / %(n)s))
          FROM generate_series(1, %(n)s) g
        """,
        {"n": messages // 2, "customers": messages // 4, "week": week},
    )
    # Two messages per order (its Salesforce and Thinkific sides), in time order; the newest
    # are still live, a share died under five error codes.
    conn.execute(
        """
        INSERT INTO outbox.messages (created_at, destination, event_type, ordering_key,
                                     correlation_id, payload, status, attempts, last_error_code,
                                     delivered_at, updated_at)
        SELECT o.placed_at, d.destination, d.event_type, 'order:' || o.order_number,
               o.correlation_id, jsonb_build_object('order', o.order_number),
               CASE WHEN o.id %% %(every)s = 0 AND d.destination = 'salesforce' THEN 'dead'
                    WHEN o.id > %(orders)s - 200 THEN 'pending'
                    ELSE 'delivered' END::outbox.message_status,
               1,
               CASE WHEN o.id %% %(every)s = 0 AND d.destination = 'salesforce'
                    THEN (ARRAY['INVALID_FIELD', 'STRING_TOO_LONG', 'REQUIRED_FIELD_MISSING',
                                'DUPLICATE_VALUE', 'FIELD_CUSTOM_VALIDATION_EXCEPTION'])
                         [1 + (o.id / %(every)s) %% 5]
               END,
               o.placed_at, o.placed_at
          FROM commerce.orders o
         CROSS JOIN (VALUES ('salesforce', 'order.placed'), ('thinkific', 'enrollment.requested'))
               AS d (destination, event_type)
         ORDER BY o.id, d.destination
        """,
        {"every": max(messages // 2 // dead, 1), "orders": messages // 2},
    )
    conn.execute(
        """
        INSERT INTO outbox.attempts (message_id, number, worker, started_at, finished_at, outcome,
                                     http_status, error_code, duration_ms)
        SELECT m.id, 1 + g %% 5, 'w-bench', t, t,
               CASE WHEN m.status = 'dead' AND g %% 5 = 4 THEN 'dead'
                    WHEN g %% 5 = 4 THEN 'delivered' ELSE 'retry' END::outbox.attempt_outcome,
               500, NULL, 20
          FROM generate_series(0, %(attempts)s - 1) g
          JOIN outbox.messages m ON m.id = 1 + g / 5
         CROSS JOIN LATERAL (
               SELECT now() - make_interval(secs => %(week)s * (1 - g::float8 / %(attempts)s))
               ) AS x (t)
         ORDER BY g
        """,
        {"attempts": attempts, "week": week},
    )
    conn.execute(
        "UPDATE outbox.rollups SET rolled_until = date_trunc('minute', now() - interval '8 days')"
    )
    conn.commit()
    conn.execute("VACUUM ANALYZE")


def timed(conn: psycopg.Connection[Any], name: str, params: dict[str, Any]) -> tuple[float, int]:
    samples, rows = [], 0
    for _ in range(RUNS):
        started = time.perf_counter()
        rows = len(conn.execute(query(name) if " " not in name else name, params).fetchall())
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2_000_000)
    parser.add_argument("--attempts", type=int, default=10_000_000)
    parser.add_argument("--dead", type=int, default=100_000)
    args = parser.parse_args()
    print(f"# console reads · {machine()}")
    print(
        f"# {args.messages:,} messages, {args.attempts:,} attempts over a week, ~{args.dead:,} dead"
    )
    with scratch_database() as url, psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        seed(conn, args.messages, args.attempts, args.dead)
        figure("seeding", time.perf_counter() - started, "s")
        roll_up(url)
        now = datetime.now(UTC)
        hour_ago, day_ago = now - timedelta(hours=1), now - timedelta(days=1)
        rolled = conn.execute(query("console_rolled_until")).fetchone()
        mark = rolled[0] if rolled else None
        dead = conn.execute("SELECT count(*) FROM outbox.messages WHERE status = 'dead'").fetchone()
        figure("seeded dead letters", float(dead[0] if dead else 0), "messages")
        middle = args.messages // 2
        target = conn.execute(
            "SELECT id, destination, ordering_key, correlation_id FROM outbox.messages "
            "WHERE id = %s",
            (middle,),
        ).fetchone()
        assert target is not None
        reads: list[tuple[str, str, dict[str, Any]]] = [
            ("dead letters by cause", "console_dead_causes", {"limit": 200}),
            (
                "dead letters, first page",
                "console_dead_page",
                {"destination": None, "error_code": None, "before": None, "limit": 51},
            ),
            (
                "dead letters, page deep in one cause",
                "console_dead_page",
                {
                    "destination": "salesforce",
                    "error_code": "INVALID_FIELD",
                    "before": middle,
                    "limit": 51,
                },
            ),
            (
                "find by order number",
                "console_find",
                {**search_terms(f"SO-{middle // 2}"), "limit": 200},
            ),
            (
                "find by e-mail",
                "console_find",
                {**search_terms("BUYER777@example.org"), "limit": 200},
            ),
            (
                "find by correlation id",
                "console_find",
                {**search_terms(str(target[3])), "limit": 200},
            ),
            ("find by message id", "console_find", {**search_terms(str(middle)), "limit": 200}),
            (
                "find by live ordering key",
                "console_find",
                {**search_terms(f"order:SO-{args.messages // 2 - 5}"), "limit": 200},
            ),
            ("message page: the message", "console_message", {"message_id": middle}),
            ("message page: its history", "message_history", {"message_id": middle}),
            (
                "message page: its neighbours",
                "console_related",
                {
                    "message_id": middle,
                    "destination": target[1],
                    "ordering_key": target[2],
                    "correlation_id": target[3],
                    "limit": 100,
                },
            ),
            ("charts: last hour", "console_minutes", {"since": hour_ago, "rolled_until": mark}),
            ("charts: last day", "console_minutes", {"since": day_ago, "rolled_until": mark}),
            ("naive: count a day of attempts per minute", NAIVE_DAY, {}),
        ]
        for label, name, params in reads:
            ms, rows = timed(conn, name, params)
            figure(label, ms, "ms", f"median of {RUNS}, {rows} rows")


def roll_up(url: str) -> None:
    """Catch the roll-up up on the seeded week in the sampler's own passes (an hour each)."""

    async def run() -> tuple[int, float, float, float]:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            passes, slowest, started = 0, 0.0, time.perf_counter()
            while True:
                begun = time.perf_counter()
                made = await roll_up_minutes(conn, None, Sampler.SETTLE_SECONDS, 60)
                slowest = max(slowest, time.perf_counter() - begun)
                passes += made
                if not made:
                    break
            total = time.perf_counter() - started
            begun = time.perf_counter()
            await roll_up_minutes(conn, None, Sampler.SETTLE_SECONDS, 60)
            return passes, total, slowest, time.perf_counter() - begun

    passes, total, slowest, idle = asyncio.run(run())
    figure("roll-up of the week", total, "s", f"{passes} passes of an hour")
    figure("roll-up: slowest pass (one hour)", slowest * 1000, "ms")
    figure("roll-up: a pass with nothing new", idle * 1000, "ms")


if __name__ == "__main__":
    main()
