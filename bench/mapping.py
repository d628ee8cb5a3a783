"""How fast the mapping engine turns payloads into validated records, on one core.

Prints figures, asserts nothing. Target: at least 20,000 ``order.placed`` payloads (three lines
each) per second, so mapping is never what limits a dispatcher. Run from a checkout:

    .venv/bin/python bench/mapping.py [--seconds 3] [--mappings mappings]
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dispatcher.mapping import Mappings, load

CATALOG = {"WB-101": "01u000000000001", "EV-201": "01u000000000002", "DL-301": "01u000000000003"}


def lookup(table: str, key: str) -> str | None:
    return "01s000000000STD" if table == "pricebook" else CATALOG.get(key)


def _line(order: str, number: int, purchase_type: str, sku: str) -> dict[str, Any]:
    return {
        "line_id": f"{order}-{number}",
        "line_number": number,
        "sku": sku,
        "product_name": f"Product {sku}",
        "purchase_type": purchase_type,
        "quantity": 2,
        "unit_price": "30.00",
        "tax": "6.00",
        "line_total": "66.00",
        "salesforce_product2_id": "01t000000000001",
        "salesforce_pricebook_entry_id": CATALOG[sku],
        "event_session_id": 7 if purchase_type == "paid_event" else None,
        "thinkific_course_id": 1001 if purchase_type == "digital_license" else None,
    }


def order_placed(n: int) -> dict[str, Any]:
    number = f"SO-{n}"
    return {
        "customer": {
            "id": f"c-{n}",
            "email": f"buyer{n}@example.org",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "organisation": "Analytical Clinic" if n % 2 else None,
            "locale": "en_US",
            "marketing_consent": bool(n % 3),
            "guest": False,
        },
        "order": {
            "number": number,
            "status": "placed",
            "currency": "USD",
            "subtotal": "180.00",
            "tax": "18.00",
            "total": "198.00",
            "payment_method": "card",
            "placed_at": "2026-11-25T10:00:00+00:00",
        },
        "lines": [
            _line(number, 1, "physical", "WB-101"),
            _line(number, 2, "paid_event", "EV-201"),
            _line(number, 3, "digital_license", "DL-301"),
        ],
    }


def enrollment_requested(n: int) -> dict[str, Any]:
    payload = order_placed(n)
    return {
        "enrollment_id": f"SO-{n}-3",
        "customer": copy.deepcopy(payload["customer"]),
        "order_number": f"SO-{n}",
        "course_id": 1001,
        "seats": 25,
        "organisation": payload["customer"]["organisation"],
        "product": {"sku": "DL-301", "name": "Infection control online"},
        "activated_at": "2026-11-25T10:00:00+00:00",
        "expiry_date": None,
    }


def measure(
    apply: Callable[[dict[str, Any]], int], payloads: list[dict[str, Any]], seconds: float
) -> tuple[float, float]:
    """Payloads and records per second over about ``seconds`` of repeated passes."""
    done = records = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for payload in payloads:
            records += apply(payload)
        done += len(payloads)
    return done / elapsed, records / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument(
        "--mappings", type=Path, default=Path(__file__).resolve().parents[1] / "mappings"
    )
    args = parser.parse_args()

    started = time.perf_counter()
    mappings: Mappings = load(args.mappings)
    print(
        f"load + validate + compile: {(time.perf_counter() - started) * 1000:.1f} ms "
        f"(version {mappings.version})"
    )

    salesforce, thinkific = mappings.destinations["salesforce"], mappings.destinations["thinkific"]
    cases: list[tuple[str, Callable[[dict[str, Any]], int], list[dict[str, Any]]]] = [
        (
            "order.placed -> salesforce (3 lines)",
            lambda p: len(salesforce.apply("order.placed", p, lookup).records),
            [order_placed(n) for n in range(1000)],
        ),
        (
            "order.placed + bodies for create",
            lambda p: len([r.body() for r in salesforce.apply("order.placed", p, lookup).records]),
            [order_placed(n) for n in range(1000)],
        ),
        (
            "enrollment.requested -> thinkific",
            lambda p: len(thinkific.apply("enrollment.requested", p).records),
            [enrollment_requested(n) for n in range(1000)],
        ),
    ]
    for name, apply, payloads in cases:
        per_second, records = measure(apply, payloads, args.seconds)
        print(
            f"{name:40s} {per_second:>10,.0f} payloads/s  {records:>10,.0f} records/s  "
            f"{1e6 / per_second:6.1f} us/payload"
        )


if __name__ == "__main__":
    main()
