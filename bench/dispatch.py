"""Dispatcher throughput with the ``null`` destination, and claim time as the backlog grows.

    python -m bench.dispatch [--messages 100000] [--processes 2] [--batch 100] [--concurrency 2]
                             [--shapes 100000x1,1000x100,10x10000,1x20000] [--timeout 120]

Drains a backlog with real ``outbox run`` processes (so claim, record and NOTIFY all run as in
production) and prints messages per second from the first delivery to the last (and, in the
note, from the processes' start): first without ordering keys, then for each shape
``KEYSxPER_KEY`` of ordering keys (the keys interleaved, as concurrent orders publish them).
A keyed drain should stay within half of the unkeyed one whatever the shape. A drain still
running at ``--timeout`` seconds reports its rate so far. Then measures one claim of 100 rows
against live backlogs of growing size, and against 100,000 rows spread over keys in different
ways: it should stay flat, since the claim reads only its partial indexes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import yaml

from bench.harness import figure, machine, scratch_database
from dispatcher.core import claim


def _fill(url: str, count: int, *, keys: int = 0, contiguous: bool = False) -> None:
    """``count`` messages over ``keys`` ordering keys (none if 0), interleaved or key by key."""
    with psycopg.connect(url) as conn:
        conn.execute(
            """
            INSERT INTO outbox.messages (destination, event_type, payload, ordering_key)
            SELECT 'null', 'bench', jsonb_build_object('n', g),
                   CASE WHEN %(keys)s > 0 AND %(contiguous)s
                        THEN 'k' || ((g - 1) / ceil(%(count)s::numeric / %(keys)s)::int)
                        WHEN %(keys)s > 0 THEN 'k' || (g %% %(keys)s) END
              FROM generate_series(1, %(count)s) g
            """,
            {"count": count, "keys": keys, "contiguous": contiguous},
        )
        conn.commit()


LIVE = (
    "SELECT (SELECT count(*) FROM outbox.messages WHERE status IN ('pending', 'retrying'))"
    " + (SELECT count(*) FROM outbox.messages WHERE status = 'in_flight')"
)
# One index probe: asked 20 times a second while a drain runs, it must cost the dispatchers
# nothing (a count of 100,000 live rows, on a new connection each time, took a fifth of the
# server's time). PgQueuer's drain in bench.compare is timed by the same kind of probe.
ANY_LIVE = (
    "SELECT EXISTS (SELECT 1 FROM outbox.messages WHERE status IN ('pending', 'retrying'))"
    " OR EXISTS (SELECT 1 FROM outbox.messages WHERE status = 'in_flight')"
)


def _live(url: str) -> int:
    """How many messages are still to deliver: reads the partial indexes of live rows only."""
    with psycopg.connect(url) as conn:
        row = conn.execute(LIVE).fetchone()
    return int(row[0]) if row else 0


def wait_drained(url: str, deadline: float) -> int:
    """Wait until no message is left to deliver, or the deadline; return how many are left."""
    with psycopg.connect(url, autocommit=True) as conn:
        while (row := conn.execute(ANY_LIVE).fetchone()) and row[0]:
            if time.perf_counter() >= deadline:
                return _live(url)
            time.sleep(0.05)
    return 0


def drain(url: str, args: argparse.Namespace, *, keys: int = 0, messages: int = 0) -> float:
    """Messages per second through real ``outbox run`` processes; the rate so far at the timeout."""
    messages = messages or args.messages
    _fill(url, messages, keys=keys)
    config = {
        "dispatcher": {
            "poll_interval_seconds": 0.5,
            "http_port": None,
            "synchronous_commit": not args.async_commit,
        },
        "destinations": {
            "null": {"type": "null", "batch_size": args.batch, "concurrency": args.concurrency}
        },
    }
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        yaml.safe_dump(config, handle)
    env = {**os.environ, "OUTBOX_DATABASE_URL": url}
    command = [
        sys.executable,
        "-m",
        "dispatcher",
        "run",
        "--config",
        handle.name,
        "--no-migrate",
    ]
    started = time.perf_counter()
    procs = [
        subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL) for _ in range(args.processes)
    ]
    deadline = started + getattr(args, "timeout", 600.0)
    live = wait_drained(url, deadline)
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait(timeout=30)
    Path(handle.name).unlink()
    return (messages - live) / elapsed


def delivery_rate(url: str) -> float:
    """Messages delivered per second from the first delivery to the last.

    The figure the shapes are compared by: the dispatchers' start (about a second: imports,
    pools, the first claim) is the same whatever the shape, so from process start a drain of
    20,000 messages would look slower than one of 100,000 for that second alone. ``drain``'s
    own figure, from process start, is what ``bench.compare`` holds against PgQueuer, whose
    workers are timed the same way.
    """
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*), extract(epoch FROM max(delivered_at) - min(delivered_at))"
            "  FROM outbox.messages WHERE status = 'delivered'"
        ).fetchone()
    count, seconds = (row[0], float(row[1] or 0)) if row else (0, 0.0)
    return count / seconds if seconds > 0 else 0.0


async def claim_time(url: str, backlog: int) -> float:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        samples = []
        for _ in range(20):
            started = time.perf_counter()
            batch = await claim.claim(
                conn, destination="null", worker="bench", limit=100, lease_seconds=60
            )
            samples.append(time.perf_counter() - started)
            await conn.execute(
                "UPDATE outbox.messages SET status = 'pending', lease_owner = NULL, "
                "lease_expires_at = NULL WHERE id = ANY(%s)",
                ([m.id for m in batch],),
            )
        samples.sort()
        return samples[len(samples) // 2] * 1000


SPREADS = (
    ("no keys", 0, False),
    ("100,000 keys x 1", 100_000, False),
    ("100 keys x 1,000", 100, False),
    ("10 keys x 10,000", 10, False),
    ("10 keys x 10,000 one after another", 10, True),
    ("1 key x 100,000", 1, False),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--backlogs", default="10000,100000,1000000")
    parser.add_argument(
        "--shapes",
        default="100000x1,1000x100,10x10000,1x20000",
        help="ordering-key shapes to drain, KEYSxMESSAGES_PER_KEY",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per drain at most")
    parser.add_argument(
        "--async-commit", action="store_true", help="dispatchers with synchronous_commit off"
    )
    parser.add_argument(
        "--history", type=int, default=1_000_000, help="delivered rows for the history figure"
    )
    args = parser.parse_args()
    print(f"dispatch benchmark · {machine()}")
    with scratch_database() as url:
        started = drain(url, args)
        unkeyed = delivery_rate(url)
        figure(
            f"null drain, {args.processes} processes, batch {args.batch}"
            + (", synchronous_commit off" if args.async_commit else ""),
            unkeyed,
            "msg/s",
            f"{args.messages:,} unkeyed messages; {started:,.0f} msg/s from process start",
        )
    for shape in args.shapes.split(","):
        keys, per_key = (int(part) for part in shape.split("x"))
        with scratch_database() as url:
            started = drain(url, args, keys=keys, messages=keys * per_key)
            rate = delivery_rate(url)
            gap = record_to_claim_p99(url) if keys == 1 else None
        figure(
            f"null drain, {keys:,} keys x {per_key:,}",
            rate,
            "msg/s",
            f"{rate / unkeyed:.0%} of unkeyed; {started:,.0f} msg/s from process start",
        )
        if gap is not None:
            figure("one key: a batch recorded to the next claimed, p99", gap, "ms", "")
    with scratch_database() as url:
        for name, keys, contiguous in SPREADS:
            _fill(url, 100_000, keys=keys, contiguous=contiguous)
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("ANALYZE outbox.messages")
            figure(
                f"claim 100 of 100,000 live, {name}",
                asyncio.run(claim_time(url, 100_000)),
                "ms",
                "median of 20",
            )
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("TRUNCATE outbox.messages, outbox.attempts")
    with scratch_database() as url:
        filled = 0
        for backlog in (int(b) for b in args.backlogs.split(",")):
            _fill(url, backlog - filled)
            filled = backlog
            figure(
                f"claim 100 of a {backlog:,} live backlog",
                asyncio.run(claim_time(url, backlog)),
                "ms",
                "median of 20",
            )
    if args.history:
        with scratch_database() as url:
            before, after = history_claim(url, args.history)
        figure("claim 100, no delivered history", before, "ms", "10,000 live")
        figure(f"claim 100, {args.history:,} delivered rows of history", after, "ms", "10,000 live")


def record_to_claim_p99(url: str) -> float:
    """On one key, from a batch's record to the next batch's claim: a wake-up, not a poll.

    The messages of one batch share their attempts' start and finish times."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            """
            SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY g.gap)
              FROM (SELECT extract(epoch FROM b.started_at - lag(b.finished_at)
                                   OVER (ORDER BY b.started_at)) * 1000 AS gap
                      FROM (SELECT DISTINCT started_at, finished_at FROM outbox.attempts) b) g
             WHERE g.gap IS NOT NULL
            """
        ).fetchone()
    return float(row[0]) if row and row[0] is not None else float("nan")


def history_claim(url: str, history: int) -> tuple[float, float]:
    """Claim time from a 10,000 live backlog before and after ``history`` delivered rows."""
    _fill(url, 10_000)
    before = asyncio.run(claim_time(url, 10_000))
    with psycopg.connect(url) as conn:
        conn.execute(
            """
            INSERT INTO outbox.messages (destination, event_type, payload, status, delivered_at,
                                         created_at)
            SELECT 'null', 'old', '{}', 'delivered', now() - interval '1 day' * (g %% 365),
                   now() - interval '1 day' * (g %% 365)
              FROM generate_series(1, %s) g
            """,
            (history,),
        )
        conn.commit()
    return before, asyncio.run(claim_time(url, 10_000))


if __name__ == "__main__":
    main()
