"""What the demo shows: live progress while it runs, then what happened and whether it is right.

The checks read the sandboxes' own inspection data, so "each order exists exactly once in
Salesforce" is proved by the org's side, not by the outbox's opinion of itself.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg
from rich.table import Table

from sandboxes.demo.boxes import Sandboxes

STATUSES = ("pending", "in_flight", "retrying", "delivered", "dead")


def progress(url: str, prefix: str) -> dict[str, Counter[str]]:
    """Messages of this run (by its order-number prefix) per destination and status."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """
            SELECT m.destination, m.status::text, count(*)
              FROM outbox.messages m JOIN commerce.orders o ON o.correlation_id = m.correlation_id
             WHERE o.order_number LIKE %s GROUP BY 1, 2
            """,
            (f"{prefix}-%",),
        ).fetchall()
    counts: dict[str, Counter[str]] = {}
    for destination, status, n in rows:
        counts.setdefault(destination, Counter())[status] = n
    return counts


def live(counts: Counter[str]) -> int:
    return counts["pending"] + counts["in_flight"] + counts["retrying"]


def progress_table(counts: dict[str, Counter[str]], elapsed: float) -> Table:
    table = Table(title=f"Delivering… {elapsed:4.1f} s")
    table.add_column("destination")
    for status in STATUSES:
        table.add_column(status.replace("_", " "), justify="right")
    for destination in sorted(counts):
        table.add_row(destination, *(str(counts[destination][s]) for s in STATUSES))
    return table


@dataclass
class Verdict:
    rows: list[tuple[str, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def fact(self, name: str, value: object) -> None:
        self.rows.append((name, str(value)))

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.rows.append((name, ("✓ " if ok else "✗ ") + detail))
        if not ok:
            self.failures.append(f"{name}: {detail}")

    def table(self) -> Table:
        table = Table(title="Demo result")
        table.add_column("")
        table.add_column("")
        for name, value in self.rows:
            table.add_row(name, value)
        return table


def verdict(
    url: str, prefix: str, outcomes: Counter[str], boxes: Sandboxes, seconds: float
) -> Verdict:
    result = Verdict()
    placed = outcomes["placed"]
    result.fact("orders placed", placed)
    for outcome, n in sorted(outcomes.items()):
        if outcome != "placed":
            result.fact(f"checkouts {outcome}", n)
    result.fact("delivery time", f"{seconds:.1f} s")
    _salesforce(result, url, prefix, boxes.salesforce.stats())
    _thinkific(result, url, prefix, boxes.thinkific)
    _dead(result, url, prefix)
    return result


def _salesforce(result: Verdict, url: str, prefix: str, stats: dict[str, Any]) -> None:
    writes = stats["writes"]
    for sobject in ("Account", "Contact", "Order", "OrderItem", "Event_Registration__c"):
        result.fact(f"Salesforce {sobject} records", len(writes.get(sobject, {})))
    result.fact("Salesforce API calls", stats["api_usage"]["used"])
    with psycopg.connect(url) as conn:
        orders = {
            n
            for (n,) in conn.execute(
                "SELECT order_number FROM commerce.orders WHERE order_number LIKE %s",
                (f"{prefix}-%",),
            )
        }
    in_org = {key: count for key, count in writes.get("Order", {}).items() if key in orders}
    twice = [key for key, count in in_org.items() if count["created"] != 1]
    result.check(
        "each order exactly once in Salesforce",
        len(in_org) == len(orders) and not twice,
        f"{len(in_org)} of {len(orders)} orders, {len(twice)} created more than once",
    )


def _thinkific(result: Verdict, url: str, prefix: str, sandbox: Any) -> None:
    site = sandbox.enrollment_report()
    report = site["items"]
    with psycopg.connect(url) as conn:
        bought = {
            (email.lower(), course)
            for email, course in conn.execute(
                """
            SELECT m.payload->'customer'->>'email', (m.payload->>'course_id')::int
              FROM outbox.messages m JOIN commerce.orders o ON o.correlation_id = m.correlation_id
             WHERE o.order_number LIKE %s AND m.event_type = 'enrollment.requested'
            """,
                (f"{prefix}-%",),
            )
        }
    enrolled = {(r["user_email"].lower(), r["course_id"]): r for r in report if r["user_email"]}
    missing = bought - enrolled.keys()
    doubled = [pair for pair in bought if pair in enrolled and enrolled[pair]["created"] != 1]
    result.fact("Thinkific enrollments", site["total_enrollments"])
    traffic = sandbox.stats()
    result.fact(
        "Thinkific API calls", f"{traffic['total_calls']} ({traffic['rate_limited']} answered 429)"
    )
    result.check(
        "each course purchase enrolled once",
        not missing and not doubled,
        f"{len(bought) - len(missing)} of {len(bought)} enrolled, {len(doubled)} created twice",
    )


def _dead(result: Verdict, url: str, prefix: str) -> None:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """
            SELECT m.destination, coalesce(m.last_error_code, '?'), count(*)
              FROM outbox.messages m JOIN commerce.orders o ON o.correlation_id = m.correlation_id
             WHERE o.order_number LIKE %s AND m.status = 'dead' GROUP BY 1, 2 ORDER BY 3 DESC
            """,
            (f"{prefix}-%",),
        ).fetchall()
    result.fact("dead letters", sum(n for *_, n in rows))
    for destination, code, n in rows:
        result.fact(f"  {destination} {code}", n)
