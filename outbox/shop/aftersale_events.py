"""The messages an order's life after checkout implies, and a customer's profile changes.

Payments, parcels, refunds and cancellations (see docs/events.md); the checkout's own messages
are built in ``outbox.shop.events``. Every order event travels under the order's ordering key, so
Salesforce sees them in commit order behind the order.placed that created the Order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from outbox.models import OutgoingMessage
from outbox.shop.events import CustomerRow, money
from outbox.shop.models import Destination, PurchaseType
from outbox.shop.order_state import Change, LineNow, OrderNow

# The profile fields a Thinkific user keeps (mappings/thinkific.yaml, section user_profile). The
# organisation (Thinkific's company) is set at checkout and is not a profile change.
THINKIFIC_HOLDS = ("first_name", "last_name")


class AftersaleEvent(StrEnum):
    ORDER_PAID = "order.paid"
    ORDER_SHIPPED = "order.shipped"
    ORDER_REFUNDED = "order.refunded"
    ORDER_CANCELLED = "order.cancelled"
    ENROLLMENT_REVOKED = "enrollment.revoked"
    CUSTOMER_UPDATED = "customer.updated"


def _order_block(order: OrderNow) -> dict[str, Any]:
    return {
        "number": order.number,
        "status": order.status,
        "currency": order.currency,
        "total": money(order.total),
        "amount_paid": money(order.amount_paid),
        "amount_refunded": money(order.amount_refunded),
        "payment_method": order.payment_method,
        "placed_at": order.placed_at.isoformat(),
    }


def _moved(order_number: str, line: LineNow, quantity: int) -> dict[str, Any]:
    """A line in a parcel or a refund: which line, and how many units of it."""
    return {
        "line_id": f"{order_number}-{line.line_number}",
        "line_number": line.line_number,
        "sku": line.sku,
        "purchase_type": line.purchase_type.value,
        "quantity": quantity,
    }


def _order_event(
    event_type: AftersaleEvent, order: OrderNow, change: Change, payload: dict[str, Any], key: str
) -> OutgoingMessage:
    return OutgoingMessage(
        destination=Destination.SALESFORCE,
        event_type=event_type,
        payload={"order": _order_block(order), **payload},
        ordering_key=f"customer:{payload['customer']['id']}",  # see outbox.shop.events
        idempotency_key=f"{event_type}:{order.number}{key}",
        correlation_id=change.correlation_id,
    )


def order_paid(
    order: OrderNow, customer: CustomerRow, change: Change, method: str, amount: Decimal
) -> list[OutgoingMessage]:
    payment = {
        "reference": change.reference,
        "method": method,
        "amount": money(amount),
        "paid_at": change.at.isoformat(),
    }
    payload = {"customer": customer.payload(), "payment": payment}
    return [_order_event(AftersaleEvent.ORDER_PAID, order, change, payload, f":{change.reference}")]


def order_shipped(
    order: OrderNow,
    customer: CustomerRow,
    change: Change,
    parcel: tuple[str, str],
    lines: Sequence[tuple[LineNow, int]],
) -> list[OutgoingMessage]:
    carrier, tracking_number = parcel
    shipment = {
        "shipment_id": change.reference,
        "carrier": carrier,
        "tracking_number": tracking_number,
        "shipped_at": change.at.isoformat(),
        "units": sum(quantity for _, quantity in lines),
        "lines": [_moved(order.number, line, quantity) for line, quantity in lines],
    }
    payload = {"customer": customer.payload(), "shipment": shipment}
    return [
        _order_event(AftersaleEvent.ORDER_SHIPPED, order, change, payload, f":{change.reference}")
    ]


def order_refunded(
    order: OrderNow,
    customer: CustomerRow,
    change: Change,
    amount: Decimal,
    lines: Sequence[tuple[LineNow, int]],
    revoked: Sequence[LineNow],
) -> list[OutgoingMessage]:
    refund = {
        "refund_id": change.reference,
        "amount": money(amount),
        "refunded_at": change.at.isoformat(),
        "lines": [_moved(order.number, line, quantity) for line, quantity in lines],
    }
    payload = {
        "customer": customer.payload(),
        "refund": refund,
        "revoked_enrollments": [_revoked(order.number, line) for line in revoked],
    }
    suffix = f":{change.reference}"
    messages = [_order_event(AftersaleEvent.ORDER_REFUNDED, order, change, payload, suffix)]
    messages += [_enrollment_revoked(order, customer, change, line, "refunded") for line in revoked]
    return messages


def order_cancelled(
    order: OrderNow,
    customer: CustomerRow,
    change: Change,
    lines: Sequence[LineNow],
    revoked: Sequence[LineNow],
) -> list[OutgoingMessage]:
    registrations = [
        {
            "registration_id": f"{order.number}-{line.line_number}",
            "line_number": line.line_number,
            "session_id": line.event_session_id,
            "seats": line.quantity,
            "paid": line.purchase_type is PurchaseType.PAID_EVENT,
        }
        for line in lines
        if line.purchase_type.is_event
    ]
    released = [
        {"sku": line.sku, "quantity": line.quantity}
        for line in lines
        if line.purchase_type is PurchaseType.PHYSICAL
    ]
    payload = {
        "customer": customer.payload(),
        "cancellation": {"reason": change.reference, "cancelled_at": change.at.isoformat()},
        "registrations": registrations,
        "revoked_enrollments": [_revoked(order.number, line) for line in revoked],
        "released_stock": released,
    }
    messages = [_order_event(AftersaleEvent.ORDER_CANCELLED, order, change, payload, "")]
    messages += [
        _enrollment_revoked(order, customer, change, line, "cancelled") for line in revoked
    ]
    return messages


def _revoked(order_number: str, line: LineNow) -> dict[str, Any]:
    return {
        "enrollment_id": f"{order_number}-{line.line_number}",
        "line_number": line.line_number,
        "course_id": line.thinkific_course_id,
        "sku": line.sku,
    }


def _enrollment_revoked(
    order: OrderNow, customer: CustomerRow, change: Change, line: LineNow, reason: str
) -> OutgoingMessage:
    """Access follows money: the same key as the enrollment.requested it takes back."""
    payload = {
        **_revoked(order.number, line),
        "customer": customer.payload(),
        "order_number": order.number,
        "organisation": customer.organisation,
        "product": {"sku": line.sku, "name": line.name},
        "reason": reason,
        "revoked_at": change.at.isoformat(),
    }
    return OutgoingMessage(
        destination=Destination.THINKIFIC,
        event_type=AftersaleEvent.ENROLLMENT_REVOKED,
        payload=payload,
        ordering_key=f"enrollment:c-{customer.id}:{line.thinkific_course_id}",
        idempotency_key=f"{AftersaleEvent.ENROLLMENT_REVOKED}:{order.number}:{line.line_number}",
        correlation_id=change.correlation_id,
    )


def customer_updated(
    customer: CustomerRow, changes: Mapping[str, Any], version: int, at: datetime
) -> list[OutgoingMessage]:
    """One message per destination that keeps a changed field, published together. Salesforce
    gets every change; Thinkific only the names its user keeps, and nothing at all when the
    change touches none of them (a consent change would cost a look-up for no write)."""
    held = {name: changes[name] for name in THINKIFIC_HOLDS if name in changes}
    messages = [_profile_message(Destination.SALESFORCE, customer, changes, version, at)]
    if held:
        messages.append(_profile_message(Destination.THINKIFIC, customer, held, version, at))
    return messages


def _profile_message(
    destination: Destination,
    customer: CustomerRow,
    changes: Mapping[str, Any],
    version: int,
    at: datetime,
) -> OutgoingMessage:
    """``customer`` says who, with the two values every Contact write needs (the required last
    name, and the locale consent is read in). Both destinations share the ordering key (the
    fold and the claim order work per destination); Salesforce's idempotency key predates
    Thinkific's, which is told apart by its suffix."""
    who = {
        "id": f"c-{customer.id}",
        "email": customer.email,
        "last_name": customer.last_name,
        "locale": customer.locale,
        "guest": customer.is_guest,
    }
    payload = {"customer": who, "changes": dict(changes), "version": version,
               "updated_at": at.isoformat()}  # fmt: skip
    suffix = "" if destination is Destination.SALESFORCE else f":{destination}"
    return OutgoingMessage(
        destination=destination,
        event_type=AftersaleEvent.CUSTOMER_UPDATED,
        payload=payload,
        ordering_key=f"customer:c-{customer.id}",
        idempotency_key=f"{AftersaleEvent.CUSTOMER_UPDATED}:c-{customer.id}:{version}{suffix}",
    )
