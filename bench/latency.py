"""Commit-to-delivery latency at a steady rate, and dispatcher memory under a large backlog.

    python -m bench.latency [--rate 200] [--seconds 15] [--backlog 1000000]

A producer commits one message at a time at ``--rate`` per second while one ``outbox run``
process with the ``null`` destination delivers them; latency is ``delivered_at - created_at``
of each message (both stamped on this machine). Then the dispatcher's resident memory is read
from /proc while it drains a backlog of ``--backlog`` messages.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import yaml

from bench.dispatch import _fill, _live, wait_drained
from bench.harness import figure, machine, scratch_database


def _dispatcher(url: str, synchronous_commit: bool = True) -> subprocess.Popen[bytes]:
    config = {
        "dispatcher": {"synchronous_commit": synchronous_commit, "http_port": None},
        "destinations": {"null": {"type": "null", "batch_size": 100, "concurrency": 2}},
    }
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        yaml.safe_dump(config, handle)
    command = [
        sys.executable,
        "-m",
        "dispatcher",
        "run",
        "--config",
        handle.name,
        "--no-migrate",
    ]
    env = {**os.environ, "OUTBOX_DATABASE_URL": url}
    return subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def latency(url: str, rate: int, seconds: float, synchronous_commit: bool = True) -> list[float]:
    proc = _dispatcher(url, synchronous_commit)
    time.sleep(2.0)  # let it start and settle
    interval = 1.0 / rate
    with psycopg.connect(url, autocommit=True) as conn:
        next_at = time.perf_counter()
        end = next_at + seconds
        while next_at < end:
            conn.execute("SELECT outbox.publish('null', 'tick', '{}')")
            next_at += interval
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        wait_drained(url, time.perf_counter() + 600)
        rows = conn.execute(
            "SELECT extract(epoch FROM delivered_at - created_at) * 1000 FROM outbox.messages"
        ).fetchall()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    return sorted(float(r[0]) for r in rows)


def memory(url: str, backlog: int) -> tuple[float, float]:
    _fill(url, backlog)
    proc = _dispatcher(url)
    peak = 0.0
    started = time.perf_counter()
    while _live(url):
        peak = max(peak, _rss_mb(proc.pid))
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    return peak, backlog / elapsed


def _quantile(samples: list[float], q: float) -> float:
    return samples[min(len(samples) - 1, int(q * len(samples)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--backlog", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"latency and memory benchmark · {machine()}")
    for durable in (True, False):
        with scratch_database() as url:
            samples = latency(url, args.rate, args.seconds, durable)
        mode = "synchronous_commit on" if durable else "synchronous_commit off"
        figure(
            f"commit-to-delivery p50 at {args.rate}/s, {mode}",
            _quantile(samples, 0.50),
            "ms",
            "target <= 2 ms",
        )
        figure(
            f"commit-to-delivery p99 at {args.rate}/s, {mode}",
            _quantile(samples, 0.99),
            "ms",
            "target <= 5 ms",
        )
        figure("commit-to-delivery max", samples[-1], "ms", f"{len(samples):,} messages")
    if args.backlog:
        with scratch_database() as url:
            peak, rate = memory(url, args.backlog)
        figure(f"dispatcher peak RSS, {args.backlog:,} backlog", peak, "MB", "target <= 150 MB")
        figure("drain rate, one process", rate, "msg/s")


if __name__ == "__main__":
    main()
