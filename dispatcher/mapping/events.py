"""The paths each event type's payload provides (from docs/events.md).

A mapping that reads ``customer.emial`` would otherwise produce a null on every message and
nobody would notice until a report came out wrong; checking paths at load turns the typo into an
error with a line number. A list is written ``lines[]``; its items' paths as ``lines[].sku``.
Keep this in step with docs/events.md, ``outbox.shop.events`` and ``outbox.shop.aftersale_events``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

_CUSTOMER = {
    "id": "string",
    "email": "string",
    "first_name": "string",
    "last_name": "string",
    "organisation": "string|null",
    "locale": "string",
    "marketing_consent": "boolean",
    "guest": "boolean",
    "version": "int",
    "email_opt_out": "boolean",
    "phone": "string|null",
}

_ORDER = {
    "number": "string",
    "status": "string",
    "currency": "string",
    "subtotal": "money",
    "tax": "money",
    "total": "money",
    "payment_method": "string|null",
    "placed_at": "datetime",
}

_LINE = {
    "line_id": "string",
    "line_number": "int",
    "sku": "string",
    "product_name": "string",
    "purchase_type": "string",
    "quantity": "int",
    "unit_price": "money",
    "tax": "money",
    "line_total": "money",
    "salesforce_product2_id": "string|null",
    "salesforce_pricebook_entry_id": "string|null",
    "event_session_id": "int|null",
    "thinkific_course_id": "int|null",
}

# After checkout (outbox.shop.aftersale): the order as it stands after the change.
_ORDER_NOW = {
    "number": "string",
    "status": "string",
    "currency": "string",
    "total": "money",
    "amount_paid": "money",
    "amount_refunded": "money",
    "payment_method": "string|null",
    "placed_at": "datetime",
}

_MOVED_LINE = {
    "line_id": "string",
    "line_number": "int",
    "sku": "string",
    "purchase_type": "string",
    "quantity": "int",
}

_REVOKED = {"enrollment_id": "string", "line_number": "int", "course_id": "int", "sku": "string"}

_AFTERSALE: dict[str, Any] = {
    "order.paid": {
        "customer": _CUSTOMER,
        "order": _ORDER_NOW,
        "payment": {"reference": "string", "method": "string", "amount": "money",
                    "paid_at": "datetime"},
    },
    "order.shipped": {
        "customer": _CUSTOMER,
        "order": _ORDER_NOW,
        "shipment": {"shipment_id": "string", "carrier": "string", "tracking_number": "string",
                     "shipped_at": "datetime", "units": "int", "lines": [_MOVED_LINE]},
    },
    "order.refunded": {
        "customer": _CUSTOMER,
        "order": _ORDER_NOW,
        "refund": {"refund_id": "string", "amount": "money", "refunded_at": "datetime",
                   "lines": [_MOVED_LINE]},
        "revoked_enrollments": [_REVOKED],
    },
    "order.cancelled": {
        "customer": _CUSTOMER,
        "order": _ORDER_NOW,
        "cancellation": {"reason": "string", "cancelled_at": "datetime"},
        "registrations": [{"registration_id": "string", "line_number": "int",
                           "session_id": "int", "seats": "int", "paid": "boolean"}],
        "revoked_enrollments": [_REVOKED],
        "released_stock": [{"sku": "string", "quantity": "int"}],
    },
    "enrollment.revoked": {
        **_REVOKED,
        "customer": _CUSTOMER,
        "order_number": "string",
        "organisation": "string|null",
        "product": {"sku": "string", "name": "string"},
        "reason": "string",
        "revoked_at": "datetime",
    },
    "customer.updated": {
        "customer": {"id": "string", "email": "string", "last_name": "string",
                     "locale": "string", "guest": "boolean"},
        # Only the fields that changed are present (outbox.shop.profile).
        "changes": {
            "first_name": "string",
            "last_name": "string",
            "locale": "string",
            "marketing_consent": "boolean",
            "address": {"line1": "string|null", "line2": "string|null", "city": "string|null",
                        "postal_code": "string|null", "region": "string|null",
                        "country": "string|null"},
            "preferences": {"newsletter": "boolean", "contact_channel": "string|null"},
        },
        "version": "int",
        "updated_at": "datetime",
    },
}  # fmt: skip

PAYLOADS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "order.placed": {"customer": _CUSTOMER, "order": _ORDER, "lines": [_LINE]},
        "event.registered": {
            "registration_id": "string",
            "customer": _CUSTOMER,
            "order_number": "string",
            "paid": "boolean",
            "amount": "money",
            "currency": "string",
            "seats": "int",
            "session": {"id": "int", "name": "string", "starts_at": "datetime"},
            "product": {"sku": "string", "name": "string", "purchase_type": "string"},
        },
        "enrollment.requested": {
            "enrollment_id": "string",
            "customer": _CUSTOMER,
            "order_number": "string",
            "course_id": "int",
            "seats": "int",
            "organisation": "string|null",
            "product": {"sku": "string", "name": "string"},
            "activated_at": "datetime",
            "expiry_date": "datetime|null",
        },
        **_AFTERSALE,
    }
)


def payload_paths(event_type: str) -> frozenset[str] | None:
    """Every path the event's payload provides, or None for an event type nobody publishes."""
    shape = PAYLOADS.get(event_type)
    if shape is None:
        return None
    return frozenset(_walk(shape, ""))


def _walk(shape: Any, prefix: str) -> list[str]:
    if isinstance(shape, dict):
        paths = []
        for key, inner in shape.items():
            path = f"{prefix}.{key}" if prefix else key
            paths.append(path)
            paths.extend(_walk(inner, path))
        return paths
    if isinstance(shape, list):
        return [f"{prefix}[]", *_walk(shape[0], f"{prefix}[]")]
    return []
