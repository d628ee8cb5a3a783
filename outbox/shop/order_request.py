"""Whether an ``OrderRequest`` can be placed at all, before anything is sent to the database.

Storefronts build requests from web forms, so every field is checked for its type and for what
the database and the messages can carry: an order number becomes part of message keys, amounts
must be finite and fit ``numeric(12, 2)``, text must be storable. Each refusal is a named
``CheckoutError`` (README, "Errors a storefront sees") raised with nothing written.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from outbox.limits import UNPRINTABLE
from outbox.shop import errors
from outbox.shop.models import CartLine, Customer, OrderRequest

MAX_ORDER_NUMBER_LENGTH = 64
MAX_TEXT_LENGTH = 1000
MAX_QUANTITY = 1_000_000
MAX_AMOUNT = Decimal("9999999999.99")  # numeric(12, 2)
# Text PostgreSQL cannot store (NUL, surrogates) or that no form field should hold.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CURRENCY = re.compile(r"[A-Z]{3}")


def check_order(order: object) -> None:
    if not isinstance(order, OrderRequest):
        raise errors.InvalidOrderError(
            f"expected an outbox.shop.OrderRequest, got {type(order).__name__}"
        )
    check_order_number(order.order_number, errors.InvalidOrderError)
    _check_customer(order.customer)
    if not isinstance(order.currency, str) or not _CURRENCY.fullmatch(order.currency):
        raise errors.InvalidOrderError(
            f"currency {order.currency!r} is not an ISO 4217 code such as 'USD'"
        )
    if order.payment_method is not None:
        _text(order.payment_method, "payment_method", errors.InvalidOrderError, 40)
    if order.placed_at is not None and (
        not isinstance(order.placed_at, datetime) or order.placed_at.utcoffset() is None
    ):
        raise errors.InvalidOrderError("placed_at must be a timezone-aware datetime or None")
    if not isinstance(order.correlation_id, uuid.UUID):
        raise errors.InvalidOrderError("correlation_id must be a uuid.UUID")
    _check_lines(order.lines)


def check_order_number(value: object, error: type[errors.OutboxError]) -> str:
    """An order number is part of its messages' keys: printable and at most 64 characters."""
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > MAX_ORDER_NUMBER_LENGTH
        or UNPRINTABLE.search(value)
    ):
        raise error(
            f"order number {_shown(value)} must be 1 to {MAX_ORDER_NUMBER_LENGTH} printable "
            "characters, such as 'SO-1001'"
        )
    return value


def _check_customer(customer: object) -> None:
    if not isinstance(customer, Customer):
        raise errors.InvalidCustomerError(
            f"customer must be an outbox.shop.Customer, got {type(customer).__name__}"
        )
    bad = errors.InvalidCustomerError
    email = _text(customer.email, "e-mail", bad, 254)
    if "@" not in email.strip(" @") or any(c.isspace() for c in email.strip()):
        raise bad(f"e-mail {email!r} is not an address; ask the shopper to correct it")
    if not _text(customer.last_name, "last_name", bad).strip():
        raise bad("last_name is empty; Salesforce needs a family name for every contact")
    _text(customer.first_name, "first_name", bad)
    if customer.organisation is not None:
        _text(customer.organisation, "organisation", bad)
    _text(customer.locale, "locale", bad, 35)
    for name in ("marketing_consent", "guest"):
        if not isinstance(getattr(customer, name), bool):
            raise bad(f"{name} must be True or False")


def _check_lines(lines: object) -> None:
    if not isinstance(lines, Sequence) or isinstance(lines, str):
        raise errors.InvalidOrderError("lines must be a tuple of outbox.shop.CartLine")
    if not lines:
        raise errors.EmptyCartError()
    total = Decimal(0)
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, CartLine):
            raise errors.InvalidOrderError(
                f"line {number} must be an outbox.shop.CartLine, got {type(line).__name__}"
            )
        sku = line.sku
        if not isinstance(sku, str) or not sku.strip() or _CONTROL.search(sku):
            raise errors.CartLineError(number, _shown(sku), "the SKU must be printable text")
        quantity = line.quantity
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise errors.CartLineError(number, sku, "quantity must be a whole number")
        if quantity <= 0:
            raise errors.InvalidQuantityError(number, sku, quantity)
        if quantity > MAX_QUANTITY:
            raise errors.CartLineError(number, sku, f"quantity is above {MAX_QUANTITY}")
        price = _amount(line.unit_price, number, sku, "unit_price")
        tax = _amount(line.tax, number, sku, "tax")
        session = line.event_session_id
        if session is not None and (
            not isinstance(session, int) or isinstance(session, bool) or not 0 < session < 2**63
        ):
            raise errors.InvalidSessionError(number, sku, "event_session_id must be a session id")
        total += price * quantity + tax
    if total > MAX_AMOUNT:
        raise errors.InvalidOrderError(f"the order's total {total} is above {MAX_AMOUNT}")


def _amount(value: object, number: int, sku: str, name: str) -> Decimal:
    """A money amount: a finite Decimal (or int), not negative, in cents, that fits."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise errors.CartLineError(
            number, sku, f"{name} must be a Decimal, such as Decimal('30.00'), not {value!r}"
        )
    amount = Decimal(value)
    exponent = amount.as_tuple().exponent
    if (
        not amount.is_finite()
        or amount < 0
        or amount > MAX_AMOUNT
        or (isinstance(exponent, int) and exponent < -2)
    ):
        raise errors.CartLineError(
            number, sku, f"{name} {value} is not an amount from 0 to {MAX_AMOUNT} in cents"
        )
    return amount


def _text(
    value: object, name: str, error: type[errors.OutboxError], limit: int = MAX_TEXT_LENGTH
) -> str:
    if not isinstance(value, str):
        raise error(f"{name} must be text, got {type(value).__name__}")
    if len(value) > limit or _CONTROL.search(value):
        raise error(f"{name} must be at most {limit} characters with no control characters")
    return value


def _shown(value: Any) -> str:
    """A value for an error message, cut short: it may be hostile and end up in a log."""
    return repr(value)[:40] if isinstance(value, str) else f"of type {type(value).__name__}"
