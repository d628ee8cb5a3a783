"""What a storefront imports: publish messages and place orders inside its own transaction."""

from outbox.checkout import place_order
from outbox.models import CartLine, Customer, MessageStatus, OrderRequest, PlacedOrder, PurchaseType
from outbox.publish import publish, publish_async, publish_many, publish_many_async

__all__ = [
    "CartLine",
    "Customer",
    "MessageStatus",
    "OrderRequest",
    "PlacedOrder",
    "PurchaseType",
    "place_order",
    "publish",
    "publish_async",
    "publish_many",
    "publish_many_async",
]
