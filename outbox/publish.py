"""Publish messages in the caller's transaction: psycopg (sync and async) and SQLAlchemy.

The message commits or rolls back with the storefront's own writes; nothing here commits.
A repeated ``(destination, idempotency_key)`` returns the first message's id and adds nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
import psycopg

from outbox import limits
from outbox.connection import ConnectionLike, psycopg_connection, require_transaction
from outbox.errors import InvalidMessageError, UnsupportedConnectionError
from outbox.models import OutgoingMessage
from outbox.queries import query

__all__ = [
    "InvalidMessageError",
    "PublishBatch",
    "message_batch",
    "message_ids",
    "publish",
    "publish_async",
    "publish_many",
    "publish_many_async",
]


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
    if not isinstance(messages, Sequence) or isinstance(messages, str | bytes):
        raise InvalidMessageError("messages must be a list of OutgoingMessage")
    if not messages:
        return []
    pg = psycopg_connection(conn)
    batch = message_batch(messages)
    with _translate_errors():
        return message_ids(pg.execute(query("publish_many"), batch.params).fetchall(), batch)


def message_ids(returned: Sequence[tuple[Any, ...]], batch: PublishBatch) -> list[int]:
    """Ids in input order (``outbox.publish_batch`` returns one row per message given)."""
    ids = _ids_by_key(returned)
    return [ids[key] for key in batch.keys]


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
    if not isinstance(messages, Sequence) or isinstance(messages, str | bytes):
        raise InvalidMessageError("messages must be a list of OutgoingMessage")
    if not messages:
        return []
    if not isinstance(conn, psycopg.AsyncConnection):
        raise UnsupportedConnectionError(
            f"expected a psycopg 3 AsyncConnection, got {type(conn).__name__}"
        )
    require_transaction(conn)
    batch = message_batch(messages)
    try:
        cursor = await conn.execute(query("publish_many"), batch.params)
        return message_ids(await cursor.fetchall(), batch)
    except psycopg.errors.InvalidParameterValue as exc:
        raise _invalid(exc) from None


def _ids_by_key(rows: Sequence[tuple[Any, ...]]) -> dict[tuple[str, str], int]:
    return {(destination, key): message_id for message_id, destination, key in rows}


@dataclass(frozen=True, slots=True)
class PublishBatch:
    """The parameter of ``publish_many`` (one JSON array for ``outbox.publish_batch``), and
    the ``(destination, idempotency_key)`` of each message in the order given."""

    params: dict[str, Any]
    keys: tuple[tuple[str, str], ...]


def message_batch(messages: Sequence[OutgoingMessage], *, built: bool = False) -> PublishBatch:
    """Check ``messages`` against the publish contract and encode them as one JSON array; a
    message without an idempotency key gets a random one, so every message can be told apart.

    ``built`` marks messages this package built itself from checked input (the checkout and
    the after-sale calls): their keys and payloads are known to be in shape, so the walk over
    each payload, a cost on the hottest path, is skipped. The database checks them all anyway.

    Encoding happens here, before any statement is sent, so a payload that is not JSON fails
    with the message it belongs to named. orjson encodes a checkout's three messages in a
    tenth of the time the standard library takes.
    """
    rows = []
    keys = []
    correlation: uuid.UUID | None = None
    correlation_text: str | None = None
    for message in messages:
        if not built:
            _validate(message)
        if message.correlation_id is not correlation:  # a batch usually shares one
            correlation = message.correlation_id
            correlation_text = None if correlation is None else str(correlation)
        key = message.idempotency_key or str(uuid.uuid4())
        keys.append((message.destination, key))
        payload = message.payload
        rows.append(
            {
                "destination": message.destination,
                "event_type": message.event_type,
                "payload": payload if type(payload) is dict else dict(payload),
                "ordering_key": message.ordering_key,
                "idempotency_key": key,
                "correlation_id": correlation_text,
            }
        )
    return PublishBatch({"messages": _encode(rows)}, tuple(keys))


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS)


def _encode(rows: list[dict[str, Any]]) -> str:
    try:
        return _dumps(rows).decode()
    except orjson.JSONEncodeError as exc:
        # Only a payload can hold a value orjson refuses: name the first such message.
        row = next(r for r in rows if not _encodes(r["payload"]))
        where = f"the {row['event_type']} payload for {row['destination']}"
        raise InvalidMessageError(
            f"{where} is not JSON ({exc}); send numbers, text, booleans, null, lists and "
            "objects with text keys (dates, UUIDs and Decimals are converted for you)"
        ) from None


def _encodes(payload: Any) -> bool:
    try:
        _dumps(payload)
    except orjson.JSONEncodeError:
        return False
    return True


def _json_default(value: Any) -> Any:
    """Decimals (money) become their exact text, as docs/events.md writes amounts."""
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def _validate(message: object) -> None:
    if not isinstance(message, OutgoingMessage):
        raise InvalidMessageError(f"expected an OutgoingMessage, got {type(message).__name__}")
    limits.check_destination(message.destination)
    limits.check_event_type(message.event_type)
    limits.check_key("ordering_key", message.ordering_key)
    if message.idempotency_key is not None:
        limits.check_key("idempotency_key", message.idempotency_key)
    limits.check_payload(message.payload)
    correlation = message.correlation_id
    if correlation is not None and not isinstance(correlation, uuid.UUID):
        raise InvalidMessageError(
            f"correlation_id must be a uuid.UUID or None, got {type(correlation).__name__}"
        )
    limits.check_payload_size(len(_encode_payload(message)))


def _encode_payload(message: OutgoingMessage) -> bytes:
    try:
        return _dumps(message.payload)
    except orjson.JSONEncodeError as exc:
        raise InvalidMessageError(
            f"the {message.event_type} payload for {message.destination} is not JSON ({exc}); "
            "send numbers, text, booleans, null, lists and objects with text keys (dates, "
            "UUIDs and Decimals are converted for you)"
        ) from None


def _invalid(exc: psycopg.Error) -> InvalidMessageError:
    hint = exc.diag.message_hint
    return InvalidMessageError(f"{exc.diag.message_primary} ({hint})" if hint else str(exc))


class _translate_errors:
    """Turn the database's refusal of a message into ``InvalidMessageError``, naming the rule
    and the fix; the caller's transaction is then aborted and must be rolled back, unless a
    savepoint of the caller's own (the checkout's) undoes it."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if isinstance(exc, psycopg.errors.InvalidParameterValue):
            raise _invalid(exc) from None
