"""Errors of the reference shop, named by what the caller should do about them.

Every checkout error names the cart line it is about (1-based, as the shopper sees it) and is
raised before anything is written: ``place_order`` rolls back to its savepoint, so the caller's
transaction is left as it was.
"""

from __future__ import annotations

from decimal import Decimal

from outbox.errors import OutboxError as OutboxError  # the base of these errors too


class CheckoutError(OutboxError):
    """The cart cannot be ordered as it stands; nothing was written."""


class InvalidOrderError(CheckoutError):
    """The order request itself cannot be used: a value of the wrong type, an order number that
    cannot become a message key, an amount that is not a finite number."""


class OrderNumberInUseError(CheckoutError):
    """Another checkout is placing the same order number and this transaction cannot see it
    (REPEATABLE READ or SERIALIZABLE); retry the transaction to get the order it placed."""

    def __init__(self, order_number: str) -> None:
        self.order_number = order_number
        super().__init__(
            f"order {order_number!r} was placed by a concurrent checkout that this transaction "
            "cannot see; roll back and retry to get that order (replayed=True)"
        )


class EmptyCartError(CheckoutError):
    def __init__(self) -> None:
        super().__init__("the cart has no lines; add at least one product before checkout")


class InvalidCustomerError(CheckoutError):
    """The customer details cannot be stored or sent on as given."""


class CreditLimitExceededError(CheckoutError):
    """An invoice order that would take its organisation past the credit limit Salesforce
    sets (``Account.Credit_Limit__c``); nothing was written."""

    def __init__(
        self, order_number: str, organisation: str, limit: Decimal, owed: Decimal, total: Decimal
    ) -> None:
        self.order_number = order_number
        self.organisation = organisation
        self.limit = limit
        self.owed = owed
        self.total = total
        super().__init__(
            f"order {order_number!r}: {organisation!r} owes {owed} on unpaid invoices; "
            f"{total} more would pass its credit limit of {limit}. Take another payment "
            "method, or ask for the limit to be raised in Salesforce"
        )


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


class AftersaleError(OutboxError):
    """A payment, shipment, refund, cancellation or profile change that cannot happen as asked;
    nothing was written and nothing published."""


class UnknownOrderError(AftersaleError):
    def __init__(self, order_number: str) -> None:
        self.order_number = order_number
        super().__init__(
            f"no order {order_number!r}; check the number, or place the order before acting on it"
        )


class InvalidAmountError(AftersaleError):
    def __init__(self, what: str, amount: Decimal) -> None:
        self.amount = amount
        super().__init__(
            f"a {what} of {amount} is not possible; give a positive amount with at most 2 decimals"
        )


class OrderCancelledError(AftersaleError):
    def __init__(self, order_number: str, action: str) -> None:
        self.order_number = order_number
        super().__init__(
            f"order {order_number} is cancelled and cannot be {action}; place a new order instead"
        )


class OverpaymentError(AftersaleError):
    def __init__(self, order_number: str, amount: Decimal, due: Decimal) -> None:
        self.amount = amount
        self.due = due
        super().__init__(
            f"order {order_number} has {due} left to pay, {amount} was offered; "
            "record at most the balance, and refund any excess with the payment provider"
        )


class ReferenceReusedError(AftersaleError):
    """A reference already names another payment, parcel or refund: a retry must repeat the
    original call exactly, and a new action needs a reference of its own."""

    def __init__(self, kind: str, reference: str, order_number: str) -> None:
        self.reference = reference
        super().__init__(
            f"{kind} reference {reference!r} is already recorded (order {order_number}) with "
            "other details; give this one a reference of its own"
        )


class OrderLineError(AftersaleError):
    """A problem with one line of the order, named by its line number (1-based)."""

    def __init__(self, order_number: str, line_number: int, problem: str) -> None:
        self.order_number = order_number
        self.line_number = line_number
        super().__init__(f"order {order_number} line {line_number}: {problem}")


class UnknownOrderLineError(OrderLineError):
    def __init__(self, order_number: str, line_number: int) -> None:
        super().__init__(
            order_number, line_number, "the order has no such line; use the line numbers it has"
        )


class NotShippableError(OrderLineError):
    def __init__(self, order_number: str, line_number: int, purchase_type: str) -> None:
        super().__init__(
            order_number,
            line_number,
            f"a {purchase_type} line is not shipped; list only physical lines in a shipment",
        )


class OverShipmentError(OrderLineError):
    def __init__(self, order_number: str, line_number: int, wanted: int, left: int) -> None:
        self.wanted = wanted
        self.left = left
        super().__init__(
            order_number,
            line_number,
            f"{wanted} unit(s) to ship but only {left} ordered and not yet shipped; "
            "ship at most what is left",
        )


class OverRefundError(AftersaleError):
    def __init__(self, order_number: str, amount: Decimal, refundable: Decimal) -> None:
        self.amount = amount
        self.refundable = refundable
        super().__init__(
            f"order {order_number} has {refundable} paid and not yet refunded, {amount} asked; "
            "refund at most what was paid"
        )


class OverRefundLineError(OrderLineError):
    def __init__(self, order_number: str, line_number: int, wanted: int, left: int) -> None:
        self.wanted = wanted
        self.left = left
        super().__init__(
            order_number,
            line_number,
            f"{wanted} unit(s) to refund but only {left} not yet refunded; refund at most that",
        )


class InvalidQuantitiesError(AftersaleError):
    def __init__(self, order_number: str, problem: str) -> None:
        super().__init__(f"order {order_number}: {problem}")


class OrderShippedError(AftersaleError):
    def __init__(self, order_number: str) -> None:
        self.order_number = order_number
        super().__init__(
            f"order {order_number} has parcels on their way and cannot be cancelled; "
            "refund the returned lines instead"
        )


class UnknownCustomerError(AftersaleError):
    def __init__(self, email: str) -> None:
        super().__init__(f"no customer with e-mail {email!r}; customers are created at checkout")


class InvalidProfileChangeError(AftersaleError):
    """A profile change names a field the storefront does not own or gives a value it cannot
    keep; the message names the field and what is accepted."""
