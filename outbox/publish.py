"""Publish messages in the caller's transaction: psycopg (sync and async) and SQLAlchemy.

The message commits or rolls back with the storefront's own writes; nothing here commits.
A repeated ``(destination, idempotency_key)`` returns the first message's id and adds nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from outbox.connection import ConnectionLike, psycopg_connection, require_transaction
from outbox.errors import OutboxError
from outbox.models import OutgoingMessage
from outbox.queries import query


class InvalidMessageError(OutboxError, ValueError):
    """The message cannot be published as given; the transaction is untouched."""


def publish(
    conn: ConnectionLike,
    destination: str,
    event_type: str,
    payload: Mapping[str, Any],
    *,
    ordering_key: str | None = None,
    idempotency_key: str | None = None,
    correlation_id: uuid.UUID | None = None,
) -> int:
    """Publish one message; return its id (the existing one for a repeated idempotency key)."""
    message = OutgoingMessage(
        destination, event_type, payload, ordering_key, idempotency_key, correlation_id
    )
    return publish_many(conn, [message])[0]


def publish_many(conn: ConnectionLike, messages: Sequence[OutgoingMessage]) -> list[int]:
    """Publish several messages with one statement (and one NOTIFY)."""
    if not messages:
        return []
    pg = psycopg_connection(conn)
    columns = message_columns(messages)
    with _translate_errors():
        inserted = pg.execute(query("publish_many"), columns).fetchall()
        return message_ids(pg, inserted, columns)


def message_ids(
    conn: psycopg.Connection[Any], inserted: Sequence[tuple[Any, ...]], columns: dict[str, Any]
) -> list[int]:
    """Ids in input order, looking up the ones an earlier publish of the same key wrote."""
    ids = _ids_by_key(inserted)
    if len(ids) < len(columns["destinations"]):
        ids.update(_ids_by_key(conn.execute(query("existing_messages"), columns).fetchall()))
    return _in_order(ids, columns)


async def publish_async(
    conn: psycopg.AsyncConnection[Any],
    destination: str,
    event_type: str,
    payload: Mapping[str, Any],
    *,
    ordering_key: str | None = None,
    idempotency_key: str | None = None,
    correlation_id: uuid.UUID | None = None,
) -> int:
    message = OutgoingMessage(
        destination, event_type, payload, ordering_key, idempotency_key, correlation_id
    )
    return (await publish_many_async(conn, [message]))[0]


async def publish_many_async(
    conn: psycopg.AsyncConnection[Any], messages: Sequence[OutgoingMessage]
) -> list[int]:
    if not messages:
        return []
    require_transaction(conn)
    columns = message_columns(messages)
    with _translate_errors():
        cursor = await conn.execute(query("publish_many"), columns)
        ids = _ids_by_key(await cursor.fetchall())
        if len(ids) < len(messages):
            cursor = await conn.execute(query("existing_messages"), columns)
            ids.update(_ids_by_key(await cursor.fetchall()))
    return _in_order(ids, columns)


def _ids_by_key(rows: Sequence[tuple[Any, ...]]) -> dict[tuple[str, str], int]:
    return {(destination, key): message_id for message_id, destination, key in rows}


def _in_order(ids: dict[tuple[str, str], int], columns: dict[str, Any]) -> list[int]:
    keys = zip(columns["destinations"], columns["idempotency_keys"], strict=True)
    return [ids[key] for key in keys]


def message_columns(messages: Sequence[OutgoingMessage]) -> dict[str, Any]:
    """The parameters of ``publish_many``: one array per column, payloads as one JSON array."""
    for message in messages:
        _validate(message)
    return {
        "destinations": [m.destination for m in messages],
        "event_types": [m.event_type for m in messages],
        "payloads": Jsonb([dict(m.payload) for m in messages]),
        "ordering_keys": [m.ordering_key for m in messages],
        "idempotency_keys": [m.idempotency_key or str(uuid.uuid4()) for m in messages],
        "correlation_ids": [m.correlation_id for m in messages],
    }


def _validate(message: OutgoingMessage) -> None:
    if not isinstance(message.event_type, str) or not message.event_type.strip():
        raise InvalidMessageError(
            "event_type must not be empty; pass what happened, e.g. 'order.placed'"
        )
    if not isinstance(message.payload, Mapping):
        raise InvalidMessageError(
            f"payload must be a JSON object (a mapping), got {type(message.payload).__name__}"
        )
    if not isinstance(message.destination, str) or not message.destination:
        raise InvalidMessageError("destination must name a row of outbox.destinations")


class _translate_errors:
    """Turn the database's refusal of a destination into an error that says what to do."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if isinstance(exc, psycopg.errors.ForeignKeyViolation) and "destination" in str(exc):
            raise InvalidMessageError(
                "unknown destination: register it in outbox.destinations first "
                f"(database said: {exc.diag.message_detail})"
            ) from exc
