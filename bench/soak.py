"""Soak: the chaos plan of the acceptance suite, for as long as you like.

    python -m bench.soak [--minutes 10] [--dispatchers 3] [--rate 8] [--seed 11]

Prints what happened and whether every check held (it asserts nothing; the exit status is 1
when a check failed, so it can gate a release).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.harness import figure, machine
from sandboxes.demo.chaos import ChaosPlan, run_chaos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--dispatchers", type=int, default=3)
    parser.add_argument("--rate", type=float, default=8.0, help="orders per second")
    parser.add_argument("--seed", type=int, default=11, help="replays a run's random choices")
    args = parser.parse_args()
    seconds = args.minutes * 60
    plan = ChaosPlan(
        seconds=seconds,
        outage_from=seconds * 0.2,
        outage_seconds=30.0,
        postgres_restart_at=seconds * 0.7,
        dispatchers=args.dispatchers,
        orders_per_second=args.rate,
        settle_seconds=180.0,
        seed=args.seed,
    )
    print(f"soak · {machine()} · {args.minutes} min")
    with tempfile.TemporaryDirectory(prefix="outbox-soak-") as folder:
        report = run_chaos(Path(folder), plan)
    figure("orders placed", report.orders, "orders")
    figure("dispatchers killed with SIGKILL", report.kills, "kills")
    figure("time to settle after the chaos", report.delivery_seconds, "s")
    for status, count in sorted(report.statuses.items()):
        figure(f"messages {status}", count, "messages")
    for problem in [*report.checkout_failures, *report.problems]:
        print(f"FAILED: {problem}")
    print("all checks held" if report.ok else f"checks failed (seed {report.seed})")
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
