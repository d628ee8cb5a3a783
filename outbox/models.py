"""Values shared by the storefront API and the dispatcher: message statuses, outcomes, messages."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class MessageStatus(StrEnum):
    """Mirrors the Postgres enum ``outbox.message_status``."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    RETRYING = "retrying"
    DELIVERED = "delivered"
    DEAD = "dead"
    SUPERSEDED = "superseded"
    CANCELLED = "cancelled"


LIVE_STATUSES = frozenset({MessageStatus.PENDING, MessageStatus.IN_FLIGHT, MessageStatus.RETRYING})


class AttemptOutcome(StrEnum):
    """Mirrors the Postgres enum ``outbox.attempt_outcome``."""

    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD = "dead"
    RATE_LIMITED = "rate_limited"
    RELEASED = "released"


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message to publish; the storefront builds these, ``publish_many`` writes them."""

    destination: str
    event_type: str
    payload: Mapping[str, Any]
    ordering_key: str | None = None
    idempotency_key: str | None = None
    correlation_id: uuid.UUID | None = None
