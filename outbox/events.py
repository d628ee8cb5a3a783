"""Turn a committed order into the messages it implies (see docs/events.md).

Payloads are self-contained: a destination never reads the storefront's tables, so a message
delivered late still says exactly what was true when the order committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from outbox.models import Destination, EventType, OutgoingMessage, PurchaseType
from outbox.order_state import Change, LineNow, OrderNow

_CENT = Decimal("0.01")

# Plain-text copies of the enum members the checkout formats for every order: formatting an
# enum member or reading ``.value`` costs a descriptor call each time, on the hottest path.
_SALESFORCE, _THINKIFIC = str(Destination.SALESFORCE), str(Destination.THINKIFIC)
_PLACED = str(EventType.ORDER_PLACED)
_REGISTERED = str(EventType.EVENT_REGISTERED)
_ENROLLMENT = str(EventType.ENROLLMENT_REQUESTED)
_PAID_EVENT = PurchaseType.PAID_EVENT
_DIGITAL = PurchaseType.DIGITAL_LICENSE


def money(value: Decimal) -> str:
    return str(value.quantize(_CENT))


@dataclass(frozen=True, slots=True)
class CustomerRow:
    id: int
    email: str
    first_name: str
    last_name: str
    organisation: str | None
    locale: str
    marketing_consent: bool
    is_guest: bool

    def payload(self) -> dict[str, Any]:
        return {
            "id": f"c-{self.id}",
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "organisation": self.organisation,
            "locale": self.locale,
            "marketing_consent": self.marketing_consent,
            "guest": self.is_guest,
        }


@dataclass(frozen=True, slots=True)
class ProductRow:
    id: int
    sku: str
    name: str
    purchase_type: PurchaseType
    price: Decimal
    currency: str
    stock: int | None
    safety_stock: int
    thinkific_course_id: int | None
    license_term_days: int | None
    salesforce_product2_id: str | None
    salesforce_pricebook_entry_id: str | None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: int
    name: str
    starts_at: datetime


@dataclass(frozen=True, slots=True)
class PricedLine:
    line_number: int
    product: ProductRow
    quantity: int
    unit_price: Decimal
    tax: Decimal
    session: SessionInfo | None

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity + self.tax


@dataclass(frozen=True, slots=True)
class OrderFacts:
    number: str
    currency: str
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    payment_method: str | None
    placed_at: datetime
    correlation_id: uuid.UUID


def order_messages(
    order: OrderFacts, customer: CustomerRow, lines: Sequence[PricedLine]
) -> list[OutgoingMessage]:
    """Every message an order implies, in the order they should be published."""
    buyer = customer.payload()
    placed_at = order.placed_at.isoformat()
    messages = [_order_placed(order, buyer, placed_at, lines)]
    for line in lines:
        kind = line.product.purchase_type
        if kind.is_event:
            messages.append(_event_registered(order, dict(buyer), line))
        elif kind is _DIGITAL:
            messages.append(_enrollment_requested(order, customer, dict(buyer), placed_at, line))
    return messages


def _order_placed(
    order: OrderFacts, buyer: dict[str, Any], placed_at: str, lines: Sequence[PricedLine]
) -> OutgoingMessage:
    number = order.number
    payload = {
        "customer": buyer,
        "order": {
            "number": number,
            "status": "placed",
            "currency": order.currency,
            "subtotal": money(order.subtotal),
            "tax": money(order.tax),
            "total": money(order.total),
            "payment_method": order.payment_method,
            "placed_at": placed_at,
        },
        "lines": [_line_payload(number, line) for line in lines],
    }
    return OutgoingMessage(
        _SALESFORCE, _PLACED, payload, f"order:{number}", f"{_PLACED}:{number}",
        order.correlation_id,
    )  # fmt: skip


def _line_payload(order_number: str, line: PricedLine) -> dict[str, Any]:
    product = line.product
    return {
        "line_id": f"{order_number}-{line.line_number}",
        "line_number": line.line_number,
        "sku": product.sku,
        "product_name": product.name,
        "purchase_type": str(product.purchase_type),
        "quantity": line.quantity,
        "unit_price": money(line.unit_price),
        "tax": money(line.tax),
        "line_total": money(line.line_total),
        "salesforce_product2_id": product.salesforce_product2_id,
        "salesforce_pricebook_entry_id": product.salesforce_pricebook_entry_id,
        "event_session_id": line.session.id if line.session else None,
        "thinkific_course_id": product.thinkific_course_id,
    }


def _event_registered(
    order: OrderFacts, buyer: dict[str, Any], line: PricedLine
) -> OutgoingMessage:
    assert line.session is not None  # checkout refuses an event line without a session
    product = line.product
    payload = {
        "registration_id": f"{order.number}-{line.line_number}",
        "customer": buyer,
        "order_number": order.number,
        "paid": product.purchase_type is _PAID_EVENT,
        "amount": money(line.unit_price * line.quantity),
        "currency": order.currency,
        "seats": line.quantity,
        "session": {
            "id": line.session.id,
            "name": line.session.name,
            "starts_at": line.session.starts_at.isoformat(),
        },
        "product": {
            "sku": product.sku,
            "name": product.name,
            "purchase_type": str(product.purchase_type),
        },
    }
    return OutgoingMessage(
        _SALESFORCE, _REGISTERED, payload, f"order:{order.number}",
        f"{_REGISTERED}:{order.number}:{line.line_number}", order.correlation_id,
    )  # fmt: skip


def _enrollment_requested(
    order: OrderFacts,
    customer: CustomerRow,
    buyer: dict[str, Any],
    placed_at: str,
    line: PricedLine,
) -> OutgoingMessage:
    product = line.product
    expiry = (
        order.placed_at + timedelta(days=product.license_term_days)
        if product.license_term_days
        else None
    )
    payload = {
        "enrollment_id": f"{order.number}-{line.line_number}",
        "customer": buyer,
        "order_number": order.number,
        "course_id": product.thinkific_course_id,
        "seats": line.quantity,
        "organisation": customer.organisation,
        "product": {"sku": product.sku, "name": product.name},
        "activated_at": placed_at,
        "expiry_date": expiry.isoformat() if expiry else None,
    }
    return OutgoingMessage(
        _THINKIFIC, _ENROLLMENT, payload,
        f"enrollment:c-{customer.id}:{product.thinkific_course_id}",
        f"{_ENROLLMENT}:{order.number}:{line.line_number}", order.correlation_id,
    )  # fmt: skip


# After checkout: payments, parcels, refunds, cancellations and profile changes. Every order
# event travels under the order's ordering key, so Salesforce sees them in commit order behind
# the order.placed that created the Order.


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
        ordering_key=f"order:{order.number}",
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
) -> OutgoingMessage:
    """Only the changed fields travel; ``customer`` says who, with the two values every
    Contact write needs (the required last name, and the locale consent is read in)."""
    who = {
        "id": f"c-{customer.id}",
        "email": customer.email,
        "last_name": customer.last_name,
        "locale": customer.locale,
        "guest": customer.is_guest,
    }
    payload = {"customer": who, "changes": dict(changes), "version": version,
               "updated_at": at.isoformat()}  # fmt: skip
    return OutgoingMessage(
        destination=Destination.SALESFORCE,
        event_type=AftersaleEvent.CUSTOMER_UPDATED,
        payload=payload,
        ordering_key=f"customer:c-{customer.id}",
        idempotency_key=f"{AftersaleEvent.CUSTOMER_UPDATED}:c-{customer.id}:{version}",
    )
