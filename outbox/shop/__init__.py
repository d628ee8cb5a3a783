"""The reference shop: a checkout, after-sale calls and profile changes that publish in the
caller's transaction. Built on the outbox core; a storefront with its own checkout never
imports it."""

from outbox.shop.aftersale import (
    OrderChange,
    ProfileChange,
    cancel_order,
    record_payment,
    record_shipment,
    refund,
    update_customer,
)
from outbox.shop.checkout import place_order
from outbox.shop.models import (
    CartLine,
    Customer,
    OrderRequest,
    PlacedOrder,
    PurchaseType,
)

__all__ = [
    "CartLine",
    "Customer",
    "OrderChange",
    "OrderRequest",
    "PlacedOrder",
    "ProfileChange",
    "PurchaseType",
    "cancel_order",
    "place_order",
    "record_payment",
    "record_shipment",
    "refund",
    "update_customer",
]
