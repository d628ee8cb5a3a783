"""Payload factories shaped as docs/events.md describes, and a catalog look-up for tests."""

from __future__ import annotations

import copy
from typing import Any

CUSTOMER: dict[str, Any] = {
    "id": "c-42",
    "email": "Ada@Example.org ",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "organisation": "Analytical Clinic",
    "locale": "en_US",
    "marketing_consent": True,
    "guest": False,
}

PRICEBOOK = {"WB-101": "01u000000000001", "EV-201": "01u000000000002", "DL-301": "01u000000000003"}


def catalog_lookup(table: str, key: str) -> str | None:
    if table == "pricebook":
        return "01s000000000STD" if key == "standard" else None
    if table == "pricebook_entry":
        return PRICEBOOK.get(key)
    return None


def line_factory(number: int, purchase_type: str = "physical", **changes: Any) -> dict[str, Any]:
    sku = {"physical": "WB-101", "paid_event": "EV-201", "free_event": "EV-201"}.get(
        purchase_type, "DL-301"
    )
    line: dict[str, Any] = {
        "line_id": f"SO-1001-{number}",
        "line_number": number,
        "sku": sku,
        "product_name": f"Product {number}",
        "purchase_type": purchase_type,
        "quantity": 2,
        "unit_price": "30.00",
        "tax": "6.00",
        "line_total": "66.00",
        "salesforce_product2_id": "01t000000000001",
        "salesforce_pricebook_entry_id": PRICEBOOK[sku],
        "event_session_id": 7 if purchase_type.endswith("event") else None,
        "thinkific_course_id": 1001 if purchase_type == "digital_license" else None,
    }
    line.update(changes)
    return line


def order_placed_factory(**order: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "customer": copy.deepcopy(CUSTOMER),
        "order": {
            "number": "SO-1001",
            "status": "placed",
            "currency": "USD",
            "subtotal": "180.00",
            "tax": "18.00",
            "total": "198.00",
            "payment_method": "card",
            "placed_at": "2026-11-25T10:00:00+00:00",
        },
        "lines": [
            line_factory(1),
            line_factory(2, "paid_event"),
            line_factory(3, "digital_license"),
        ],
    }
    payload["order"].update(order)
    return payload


def event_registered_factory(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "registration_id": "SO-1001-2",
        "customer": copy.deepcopy(CUSTOMER),
        "order_number": "SO-1001",
        "paid": True,
        "amount": "150.00",
        "currency": "USD",
        "seats": 1,
        "session": {
            "id": 7,
            "name": "Wound care workshop, Leeds",
            "starts_at": "2027-01-14T09:00:00+00:00",
        },
        "product": {"sku": "EV-201", "name": "Wound care workshop", "purchase_type": "paid_event"},
    }
    payload.update(changes)
    return payload


def enrollment_requested_factory(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "enrollment_id": "SO-1001-3",
        "customer": copy.deepcopy(CUSTOMER),
        "order_number": "SO-1001",
        "course_id": 1001,
        "seats": 25,
        "organisation": "Analytical Clinic",
        "product": {"sku": "DL-301", "name": "Infection control online"},
        "activated_at": "2026-11-25T10:00:00+00:00",
        "expiry_date": "2027-11-25T10:00:00+00:00",
    }
    payload.update(changes)
    return payload
