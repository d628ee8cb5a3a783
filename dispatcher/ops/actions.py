"""Operator actions taken from the console, through the same SQL functions a DBA calls.

``outbox.retry``, ``outbox.retry_dead`` and ``outbox.cancel`` write the audit row themselves;
the console only names the operator (``outbox.actor``) for the transaction, as the CLI does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors

from outbox.queries import query


@dataclass(frozen=True)
class Done:
    ok: bool
    text: str


async def retry(
    conn: psycopg.AsyncConnection[Any], message_id: int, reason: str, actor: str
) -> Done:
    try:
        changed = await _call(conn, "retry", {"message_id": message_id, "reason": reason}, actor)
    except errors.NoDataFound:
        return Done(False, f"there is no message {message_id}")
    if changed:
        return Done(True, f"message {message_id} queued again")
    return Done(False, f"message {message_id} was not dead or cancelled; unchanged")


async def retry_cause(
    conn: psycopg.AsyncConnection[Any], destination: str, error_code: str, reason: str, actor: str
) -> Done:
    params = {"destination": destination, "error_code": error_code, "reason": reason}
    count = int(await _call(conn, "retry_dead", params, actor) or 0)
    return Done(
        count > 0, f"{count} dead message(s) of {destination} with {error_code} queued again"
    )


async def cancel(
    conn: psycopg.AsyncConnection[Any], message_id: int, reason: str, actor: str
) -> Done:
    try:
        changed = await _call(conn, "cancel", {"message_id": message_id, "reason": reason}, actor)
    except errors.NoDataFound:
        return Done(False, f"there is no message {message_id}")
    if changed:
        return Done(True, f"message {message_id} cancelled")
    return Done(False, f"message {message_id} was already finished; unchanged")


async def _call(
    conn: psycopg.AsyncConnection[Any], name: str, params: dict[str, Any], actor: str
) -> Any:
    async with conn.transaction():
        await conn.execute(query("set_actor"), {"actor": actor})
        cursor = await conn.execute(query(name), params)
        row = await cursor.fetchone()
    return row[0] if row else None
