"""Values of the reference shop: purchase types, customers, carts and placed orders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class PurchaseType(StrEnum):
    """Mirrors the Postgres enum ``commerce.purchase_type``."""

    PHYSICAL = "physical"
    DIGITAL_LICENSE = "digital_license"
    PAID_EVENT = "paid_event"
    FREE_EVENT = "free_event"

    @property
    def is_event(self) -> bool:
        return self in _EVENT_TYPES


_EVENT_TYPES = frozenset({PurchaseType.PAID_EVENT, PurchaseType.FREE_EVENT})


class Destination(StrEnum):
    SALESFORCE = "salesforce"
    THINKIFIC = "thinkific"
    WEBHOOK = "webhook"
    NULL = "null"


class EventType(StrEnum):
    ORDER_PLACED = "order.placed"
    EVENT_REGISTERED = "event.registered"
    ENROLLMENT_REQUESTED = "enrollment.requested"


@dataclass(frozen=True, slots=True)
class Customer:
    email: str
    last_name: str
    first_name: str = ""
    organisation: str | None = None
    locale: str = "en_US"
    marketing_consent: bool = False
    guest: bool = False


@dataclass(frozen=True, slots=True)
class CartLine:
    """One line as the shopper saw it: the price they were shown is checked against the catalog."""

    sku: str
    quantity: int
    unit_price: Decimal
    tax: Decimal = Decimal("0")
    event_session_id: int | None = None


@dataclass(frozen=True, slots=True)
class OrderRequest:
    order_number: str
    customer: Customer
    lines: tuple[CartLine, ...]
    currency: str = "USD"
    payment_method: str | None = None
    placed_at: datetime | None = None
    correlation_id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    order_id: int
    order_number: str
    customer_id: int
    total: Decimal
    message_ids: tuple[int, ...]
    replayed: bool = False
