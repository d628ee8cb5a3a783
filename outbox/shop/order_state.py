"""The order as it stands after checkout, and the rules an after-sale request must pass.

Pure: no SQL, no I/O. ``outbox.shop.aftersale`` reads the locked order into an ``OrderState``, asks
here whether the request is possible (each refusal a specific error naming the fix) and what
the order's status becomes, then writes and publishes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from outbox.limits import UNPRINTABLE
from outbox.shop import errors
from outbox.shop.events import CustomerRow
from outbox.shop.models import PurchaseType

MAX_REFERENCE_LENGTH = 100
_MAX_AMOUNT = Decimal("9999999999.99")  # numeric(12, 2)


@dataclass(frozen=True, slots=True)
class OrderNow:
    """The order as it stands after an after-sale change, as the payloads carry it."""

    number: str
    status: str
    currency: str
    total: Decimal
    amount_paid: Decimal
    amount_refunded: Decimal
    payment_method: str | None
    placed_at: datetime


@dataclass(frozen=True, slots=True)
class LineNow:
    """An order line with what has been shipped and refunded of it so far."""

    id: int
    line_number: int
    sku: str
    name: str
    purchase_type: PurchaseType
    quantity: int
    unit_price: Decimal
    tax: Decimal
    event_session_id: int | None
    thinkific_course_id: int | None
    product_id: int
    shipped: int
    refunded: int


@dataclass(frozen=True, slots=True)
class Change:
    """One after-sale action: what it is keyed by, when, and the id tying its messages."""

    reference: str
    at: datetime
    correlation_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class OrderState:
    """An order read and row-locked for an after-sale change, with its customer and lines."""

    id: int
    now: OrderNow
    cancelled_at: datetime | None
    customer: CustomerRow
    lines: tuple[LineNow, ...]

    @property
    def fully_refunded(self) -> bool:
        return self.now.amount_paid > 0 and self.now.amount_refunded >= self.now.amount_paid

    def line(self, line_number: int) -> LineNow:
        for line in self.lines:
            if line.line_number == line_number:
                return line
        raise errors.UnknownOrderLineError(self.now.number, line_number)

    def access_revoked(self, line: LineNow) -> bool:
        """Whether an earlier refund or the cancellation already took the course back."""
        return (
            self.cancelled_at is not None or self.fully_refunded or line.refunded >= line.quantity
        )


def progress(
    order: OrderState,
    *,
    amount_paid: Decimal | None = None,
    amount_refunded: Decimal | None = None,
    shipped: Mapping[int, int] | None = None,
) -> OrderNow:
    """The order after the change, with the status its money and parcels now imply."""
    paid = order.now.amount_paid if amount_paid is None else amount_paid
    refunded = order.now.amount_refunded if amount_refunded is None else amount_refunded
    lines = with_progress(order.lines, shipped=shipped or {})
    physical = [line for line in lines if line.purchase_type is PurchaseType.PHYSICAL]
    sent = sum(line.shipped for line in physical)
    if order.cancelled_at is not None:
        status = "cancelled"
    elif refunded > 0 and refunded >= paid:
        status = "refunded"
    elif physical and sent >= sum(line.quantity for line in physical):
        status = "shipped"
    elif sent > 0:
        status = "partially_shipped"
    elif refunded > 0:
        status = "partially_refunded"
    elif paid > 0 and paid >= order.now.total:
        status = "paid"
    else:
        status = "placed"
    return replace(order.now, status=status, amount_paid=paid, amount_refunded=refunded)


def with_progress(
    lines: Sequence[LineNow],
    *,
    shipped: Mapping[int, int] | None = None,
    refunded: Mapping[int, int] | None = None,
) -> tuple[LineNow, ...]:
    shipped, refunded = shipped or {}, refunded or {}
    return tuple(
        replace(
            line,
            shipped=shipped.get(line.line_number, line.shipped),
            refunded=refunded.get(line.line_number, line.refunded),
        )
        for line in lines
    )


def shippable(order: OrderState, line_number: int, quantity: int) -> LineNow:
    line = order.line(line_number)
    if line.purchase_type is not PurchaseType.PHYSICAL:
        raise errors.NotShippableError(order.now.number, line_number, line.purchase_type.value)
    left = line.quantity - line.shipped
    if quantity > left:
        raise errors.OverShipmentError(order.now.number, line_number, quantity, left)
    return line


def refundable(order: OrderState, line_number: int, quantity: int) -> LineNow:
    line = order.line(line_number)
    left = line.quantity - line.refunded
    if quantity > left:
        raise errors.OverRefundLineError(order.now.number, line_number, quantity, left)
    return line


def new_change(reference: str, at: datetime | None) -> Change:
    return Change(reference, at or datetime.now(UTC), uuid.uuid4())


def checked_amount(what: str, amount: Decimal | int | str) -> Decimal:
    try:
        value = Decimal(str(amount)) if not isinstance(amount, bool) else Decimal("NaN")
    except InvalidOperation:
        value = Decimal("NaN")
    exponent = value.as_tuple().exponent
    if (
        not value.is_finite()
        or value <= 0
        or value > _MAX_AMOUNT
        or (isinstance(exponent, int) and exponent < -2)
    ):
        raise errors.InvalidAmountError(what, value)
    return value.quantize(Decimal("0.01"))


def check_text(name: str, value: object, limit: int = MAX_REFERENCE_LENGTH) -> str:
    """A reference (or a reason): printable text, as it becomes part of message keys."""
    if not isinstance(value, str) or not value.strip():
        raise errors.AftersaleError(f"{name} is empty; give the {name.replace('_', ' ')}")
    if len(value) > limit or UNPRINTABLE.search(value):
        raise errors.AftersaleError(
            f"{name} must be at most {limit} printable characters (no control characters or "
            "invisible marks)"
        )
    return value


def check_moment(at: object) -> None:
    if at is not None and (not isinstance(at, datetime) or at.utcoffset() is None):
        raise errors.AftersaleError("at must be a timezone-aware datetime or None")


def checked_quantities(
    order_number: str, lines: Mapping[int, int], what: str
) -> list[tuple[int, int]]:
    if not isinstance(lines, Mapping) or not lines:
        raise errors.InvalidQuantitiesError(
            order_number, f"{what} lists no lines; give {{line_number: quantity}}"
        )
    for number, quantity in lines.items():
        if not _whole(number) or not 0 < number < 2**31:
            raise errors.InvalidQuantitiesError(
                order_number, f"{number!r} is not a line number; give {{line_number: quantity}}"
            )
        if not _whole(quantity) or not 0 < quantity < 2**31:
            raise errors.InvalidQuantitiesError(
                order_number, f"line {number}: quantity must be a whole number of at least 1"
            )
    return sorted((int(number), quantity) for number, quantity in lines.items())


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def keyed(wanted: Sequence[tuple[int, int]]) -> dict[str, int]:
    return {str(number): quantity for number, quantity in wanted}


def line_params(wanted: Sequence[tuple[int, int]]) -> dict[str, list[int]]:
    return {"line_numbers": [n for n, _ in wanted], "quantities": [q for _, q in wanted]}


def check_same(kind: str, reference: str, found: Sequence[Any], given: Sequence[Any]) -> None:
    """A retry repeats the first call exactly; the same reference with other details is a
    different action under a reused reference."""
    if tuple(found) != tuple(given):
        raise errors.ReferenceReusedError(kind, reference, str(found[0]))
