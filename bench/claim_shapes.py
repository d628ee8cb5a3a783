"""One claim of 100 against 100,000 live rows spread over ordering keys in different ways.

    python -m bench.claim_shapes [--rows 100000] [--rounds 5] [--against PATH] [--explain]

For each spread of the backlog (no keys, 100,000 keys x 1, 100 x 1,000, 10 x 10,000
interleaved and one key after another, 1 x 100,000, and 1 x 100,000 with 100 unkeyed messages
queued after it), times 20 claims of 100 and prints the
median, and its ratio to the unkeyed claim of the same round. ``--rounds`` repeats the whole
set and prints the median of the rounds' medians: on a shared machine one round is noise.
``--against`` names another checkout's ``sql/queries/dispatch.sql``: its ``claim_messages`` is
timed on the same rows, claim for claim interleaved with this one, so before/after ratios
come from the same moments. ``--explain`` prints EXPLAIN (ANALYZE, BUFFERS) of one claim per
shape: the shared buffers each part of the statement touches.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import psycopg

from bench.dispatch import _fill
from bench.harness import figure, machine, scratch_database
from outbox.queries import parse_queries, query

# (name, keys, one key after another, unkeyed messages queued after the backlog)
SHAPES = (
    ("no keys", 0, False, 0),
    ("100,000 keys x 1", 100_000, False, 0),
    ("100 keys x 1,000", 100, False, 0),
    ("10 keys x 10,000", 10, False, 0),
    ("10 keys x 10,000 one after another", 10, True, 0),
    ("1 key x 100,000", 1, False, 0),
    ("1 key x 100,000, then 100 unkeyed", 1, False, 100),
)
PARAMS = {
    "destination": "null",
    "worker": "bench",
    "limit": 100,
    "lease_seconds": 60,
    "walk_from": None,
    "now": None,
}


def _claim_ms(conn: psycopg.Connection[Any], statement: str) -> float:
    """One claim, then its rows handed back as they were: every claim meets the same rows."""
    started = time.perf_counter()
    ids = [row[0] for row in conn.execute(statement, PARAMS, prepare=False).fetchall()]
    took = time.perf_counter() - started
    conn.execute(
        "UPDATE outbox.messages SET status = 'pending', lease_owner = NULL,"
        " lease_expires_at = NULL, attempts = 0 WHERE id = ANY(%s)",
        (ids,),
    )
    return took * 1000


def _explain(conn: psycopg.Connection[Any], statement: str, label: str) -> None:
    rows = conn.execute(
        "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, PARAMS, prepare=False
    ).fetchall()
    conn.rollback()
    print(f"--- {label}")
    for (line,) in rows:
        print("    " + line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--claims", type=int, default=20, help="claims per shape and round")
    parser.add_argument("--against", type=Path, help="another checkout's sql/queries/dispatch.sql")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    statements = {"this": query("claim_messages")}
    if args.against:
        other = parse_queries(args.against.read_text(), str(args.against))["claim_messages"]
        statements["against"] = other.sql
    print(f"claim by key shape · {machine()} · {args.rows:,} live rows")
    medians: dict[tuple[str, str], list[float]] = {}
    with scratch_database() as url, psycopg.connect(url) as conn:
        conn.autocommit = True
        for round_ in range(args.rounds):
            for name, keys, contiguous, unkeyed_after in SHAPES:
                conn.execute("TRUNCATE outbox.messages, outbox.attempts")
                _fill(url, args.rows, keys=keys, contiguous=contiguous)
                if unkeyed_after:
                    _fill(url, unkeyed_after)
                conn.execute("ANALYZE outbox.messages")
                samples: dict[str, list[float]] = {label: [] for label in statements}
                for _ in range(args.claims):
                    for label, statement in statements.items():
                        samples[label].append(_claim_ms(conn, statement))
                for label, taken in samples.items():
                    medians.setdefault((label, name), []).append(statistics.median(taken))
                if args.explain and round_ == 0:
                    conn.autocommit = False
                    for label, statement in statements.items():
                        _explain(conn, statement, f"{label}: {name}")
                    conn.autocommit = True
    for label in statements:
        unkeyed = statistics.median(medians[(label, "no keys")])
        for name, *_ in SHAPES:
            value = statistics.median(medians[(label, name)])
            ratio = value / unkeyed
            note = f"median of {args.rounds} rounds of {args.claims}; {ratio:.2f}x no keys"
            prefix = "" if label == "this" else "before: "
            figure(f"{prefix}claim 100 of {args.rows:,}, {name}", value, "ms", note)


if __name__ == "__main__":
    main()
