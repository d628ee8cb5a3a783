"""Dispatcher throughput with the ``null`` destination, and claim time as the backlog grows.

    python -m bench.dispatch [--messages 100000] [--processes 2] [--batch 100] [--concurrency 2]

Drains a backlog with real ``outbox run`` processes (so claim, record and NOTIFY all run as in
production) and prints messages per second. Then measures one claim of 100 rows against live
backlogs of growing size: it should stay flat, since the claim reads only its partial index.
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
from dispatcher import claim


def _fill(url: str, count: int, *, keyed: bool = False) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            """
            INSERT INTO outbox.messages (destination, event_type, payload, ordering_key)
            SELECT 'null', 'bench', jsonb_build_object('n', g),
                   CASE WHEN %(keyed)s THEN 'k' || (g %% 1000) END
              FROM generate_series(1, %(count)s) g
            """,
            {"count": count, "keyed": keyed},
        )
        conn.commit()


def _pending(url: str) -> bool:
    """Cheap to ask 20 times a second: reads the partial indexes of live rows only."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM outbox.messages WHERE status IN ('pending', 'retrying'))"
            " OR EXISTS (SELECT 1 FROM outbox.messages WHERE status = 'in_flight')"
        ).fetchone()
    return bool(row and row[0])


def drain(url: str, args: argparse.Namespace, *, keyed: bool) -> float:
    _fill(url, args.messages, keyed=keyed)
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
    while _pending(url):
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait(timeout=30)
    Path(handle.name).unlink()
    return args.messages / elapsed


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--backlogs", default="10000,100000,1000000")
    parser.add_argument(
        "--async-commit", action="store_true", help="dispatchers with synchronous_commit off"
    )
    parser.add_argument(
        "--history", type=int, default=1_000_000, help="delivered rows for the history figure"
    )
    args = parser.parse_args()
    print(f"dispatch benchmark · {machine()}")
    with scratch_database() as url:
        rate = drain(url, args, keyed=False)
        figure(
            f"null drain, {args.processes} processes, batch {args.batch}"
            + (", synchronous_commit off" if args.async_commit else ""),
            rate,
            "msg/s",
            f"{args.messages:,} unkeyed messages",
        )
    with scratch_database() as url:
        rate = drain(url, args, keyed=True)
        figure(
            "null drain, 1,000 ordering keys", rate, "msg/s", f"{args.messages:,} keyed messages"
        )
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
