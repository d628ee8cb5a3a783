"""Errors a storefront sees, named by what the caller should do about them.

Every checkout error names the cart line it is about (1-based, as the shopper sees it) and is
raised before anything is written: ``place_order`` rolls back to its savepoint, so the caller's
transaction is left as it was.
"""

from __future__ import annotations

from decimal import Decimal


class OutboxError(Exception):
    """Base of every error this package raises."""


class NotInTransactionError(OutboxError):
    """The connection would commit each statement on its own, so the outbox could not be atomic."""


class UnsupportedConnectionError(OutboxError, TypeError):
    """The object given is neither a psycopg 3 connection nor a SQLAlchemy session on psycopg."""


class CheckoutError(OutboxError):
    """The cart cannot be ordered as it stands; nothing was written."""


class EmptyCartError(CheckoutError):
    def __init__(self) -> None:
        super().__init__("the cart has no lines; add at least one product before checkout")


class InvalidCustomerError(CheckoutError):
    """The customer details cannot be stored or sent on as given."""


class CartLineError(CheckoutError):
    """A problem with one line of the cart."""

    def __init__(self, line_number: int, sku: str, problem: str) -> None:
        self.line_number = line_number
        self.sku = sku
        super().__init__(f"line {line_number} ({sku}): {problem}")


class UnknownSkuError(CartLineError):
    def __init__(self, line_number: int, sku: str) -> None:
        super().__init__(line_number, sku, "no active product has this SKU; remove the line")


class InvalidQuantityError(CartLineError):
    def __init__(self, line_number: int, sku: str, quantity: int) -> None:
        self.quantity = quantity
        super().__init__(line_number, sku, f"quantity must be at least 1, got {quantity}")


class PriceMismatchError(CartLineError):
    def __init__(self, line_number: int, sku: str, shown: Decimal, catalog: Decimal) -> None:
        self.shown = shown
        self.catalog = catalog
        super().__init__(
            line_number,
            sku,
            f"the cart shows {shown} but the catalog price is {catalog}; "
            "refresh the cart to show the current price",
        )


class OutOfStockError(CartLineError):
    def __init__(self, line_number: int, sku: str, wanted: int, available: int) -> None:
        self.wanted = wanted
        self.available = available
        super().__init__(
            line_number, sku, f"{wanted} wanted but only {available} in stock; lower the quantity"
        )


class SeatsUnavailableError(CartLineError):
    def __init__(self, line_number: int, sku: str, session_id: int, wanted: int, left: int) -> None:
        self.session_id = session_id
        self.wanted = wanted
        self.left = left
        super().__init__(
            line_number,
            sku,
            f"session {session_id} has {left} seat(s) left, {wanted} wanted; "
            "choose another session or fewer seats",
        )


class InvalidSessionError(CartLineError):
    def __init__(self, line_number: int, sku: str, problem: str) -> None:
        super().__init__(line_number, sku, problem)


class CurrencyMismatchError(CartLineError):
    def __init__(self, line_number: int, sku: str, cart: str, catalog: str) -> None:
        super().__init__(
            line_number, sku, f"the cart is in {cart} but the product is sold in {catalog}"
        )
