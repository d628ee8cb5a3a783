"""Turn a committed order into the messages it implies (see docs/events.md).

Payloads are self-contained: a destination never reads the storefront's tables, so a message
delivered late still says exactly what was true when the order committed.

Every Salesforce message that concerns a customer (their orders, registrations, after-sale
events and profile changes) shares the ordering key ``customer:<id>``: they all may write the
customer's Contact and Account, so they are delivered one at a time in commit order, and an
order's snapshot of the customer can never land after a later ``customer.updated``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from outbox.models import OutgoingMessage
from outbox.shop.models import Destination, EventType, PurchaseType

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
    version: int = 0  # commerce.customers.profile_version when the snapshot was taken
    email_opt_out: bool = False  # Salesforce masters these two; they come back by pull_changes
    phone: str | None = None

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
            "version": self.version,
            "email_opt_out": self.email_opt_out,
            "phone": self.phone,
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
        _SALESFORCE, _PLACED, payload, f"customer:{buyer['id']}", f"{_PLACED}:{number}",
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
        _SALESFORCE, _REGISTERED, payload, f"customer:{buyer['id']}",
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
