"""What a storefront imports: publish messages inside its own transaction.

Importing it loads psycopg and orjson only; ``outbox.migrate`` (alembic) and the reference
shop (``outbox.shop``) are imported when used."""

from outbox.errors import (
    InvalidMessageError,
    NotInTransactionError,
    OutboxError,
    UnsupportedConnectionError,
)
from outbox.models import MessageStatus, OutgoingMessage
from outbox.publish import publish, publish_async, publish_many, publish_many_async

__all__ = [
    "InvalidMessageError",
    "MessageStatus",
    "NotInTransactionError",
    "OutboxError",
    "OutgoingMessage",
    "UnsupportedConnectionError",
    "publish",
    "publish_async",
    "publish_many",
    "publish_many_async",
]
