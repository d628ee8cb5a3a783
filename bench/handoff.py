"""On one ordering key: from a batch's record to the claim of the key's next messages.

    python -m bench.handoff [--handoffs 300] [--batches 100,1] [--rounds 3] [--against PATH]

One ``outbox run`` process (the ``null`` destination, concurrency 2, polling only every 5 s so
a poll cannot hide a missing wake-up) drains one key's backlog. A key's next message can only
be claimed once the one before it is recorded, so every batch waits on the one before it; the
gap is the time from the moment a batch's delivery finished (its attempts' ``finished_at``,
stamped before its record statement) to the moment the next batch's delivery started (the
next attempts' ``started_at``, stamped once it was claimed): the record statement, the
wake-up and the claim statement. Prints the gap's percentiles per batch size (``--batches``:
100 is a key's run claimed whole; 1 claims one message at a time).

``--against`` names another checkout (a ``git worktree`` of main, say): its dispatcher runs
the same drains, round by round interleaved with this checkout's, on the same server, so
before/after figures come from the same minutes of a shared machine.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import yaml

from bench.dispatch import _fill, wait_drained
from bench.harness import figure, machine, scratch_database

QUANTILES = (0.5, 0.9, 0.99)


def _drain(url: str, batch: int, messages: int, checkout: Path | None) -> list[float]:
    """Drain one key of ``messages`` with one dispatcher; the gaps between batches, in ms."""
    _fill(url, messages, keys=1)
    config = {
        "dispatcher": {"poll_interval_seconds": 5.0, "http_port": None},
        "destinations": {"null": {"type": "null", "batch_size": batch, "concurrency": 2}},
    }
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        yaml.safe_dump(config, handle)
    env = {**os.environ, "OUTBOX_DATABASE_URL": url}
    if checkout is not None:
        env["PYTHONPATH"] = str(checkout)
    command = [sys.executable, "-m", "dispatcher", "run", "--config", handle.name, "--no-migrate"]
    proc = subprocess.Popen(
        command, env=env, cwd=checkout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_drained(url, time.perf_counter() + 600)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    Path(handle.name).unlink()
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """
            SELECT extract(epoch FROM b.started_at - lag(b.finished_at)
                           OVER (ORDER BY b.started_at)) * 1000
              FROM (SELECT DISTINCT started_at, finished_at FROM outbox.attempts) b
            """
        ).fetchall()
    return sorted(float(r[0]) for r in rows if r[0] is not None)


def _quantile(samples: list[float], q: float) -> float:
    return samples[min(len(samples) - 1, int(q * len(samples)))] if samples else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--handoffs", type=int, default=300, help="batches per drain")
    parser.add_argument("--batches", default="100,1", help="batch sizes, comma separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", type=Path, help="another checkout to measure beside this one")
    args = parser.parse_args()
    print(f"record-to-claim on one key · {machine()} · one dispatcher")
    checkouts: dict[str, Path | None] = {"": None}
    if args.against:
        checkouts["before: "] = args.against.resolve()
    for batch in (int(b) for b in args.batches.split(",")):
        found: dict[str, list[dict[float, float]]] = {label: [] for label in checkouts}
        for _ in range(args.rounds):
            for label, checkout in checkouts.items():
                with scratch_database() as url:
                    gaps = _drain(url, batch, batch * (args.handoffs + 1), checkout)
                found[label].append({q: _quantile(gaps, q) for q in QUANTILES})
        for label, rounds in found.items():
            for q in QUANTILES:
                figure(
                    f"{label}batch {batch}: record to next claim, p{round(q * 100)}",
                    statistics.median(r[q] for r in rounds),
                    "ms",
                    f"median of {args.rounds} drains of {args.handoffs} handoffs",
                )


if __name__ == "__main__":
    main()
