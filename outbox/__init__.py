"""What a storefront imports: publish messages and place orders inside its own transaction."""

from outbox.aftersale import (
    OrderChange,
    ProfileChange,
    cancel_order,
    record_payment,
    record_shipment,
    refund,
    update_customer,
)
from outbox.checkout import place_order
from outbox.models import CartLine, Customer, MessageStatus, OrderRequest, PlacedOrder, PurchaseType
from outbox.publish import publish, publish_async, publish_many, publish_many_async

__all__ = [
    "CartLine",
    "Customer",
    "MessageStatus",
    "OrderChange",
    "OrderRequest",
    "PlacedOrder",
    "ProfileChange",
    "PurchaseType",
    "cancel_order",
    "place_order",
    "publish",
    "publish_async",
    "publish_many",
    "publish_many_async",
    "record_payment",
    "record_shipment",
    "refund",
    "update_customer",
]
