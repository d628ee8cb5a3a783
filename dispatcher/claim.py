"""Claiming work: one statement per batch, committed before any delivery starts.

Every function here takes a connection in autocommit mode: each statement is its own short
transaction, which saves the BEGIN and COMMIT round trips on the hottest path.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from dispatcher.destinations.base import Message
from outbox.queries import query


async def claim(
    conn: psycopg.AsyncConnection[Any],
    *,
    destination: str,
    worker: str,
    limit: int,
    lease_seconds: float,
    walk_from: str | None = None,
    now: datetime | None = None,
) -> list[Message]:
    """Heads of keys with the runs queued behind them, sorted by id; see ``claim_messages``.

    ``walk_from`` is the last ordering key this worker claimed: where the claim has to walk
    the keys one by one, it starts after that key, so every key gets its turn.
    """
    params = {
        "destination": destination,
        "worker": worker,
        "limit": limit,
        "lease_seconds": lease_seconds,
        "walk_from": walk_from,
        "now": now,
    }
    # prepare=False: always a custom plan, never one cached while the table was empty.
    cursor = await conn.execute(query("claim_messages"), params, prepare=False)
    rows = await cursor.fetchall()
    return sorted((Message(*row) for row in rows), key=lambda m: m.id)


async def reclaim_expired(
    conn: psycopg.AsyncConnection[Any],
    *,
    destination: str,
    worker: str,
    now: datetime | None = None,
) -> int:
    cursor = await conn.execute(
        query("reclaim_expired_leases"),
        {"destination": destination, "worker": worker, "now": now},
    )
    return len(await cursor.fetchall())


async def extend_leases(
    conn: psycopg.AsyncConnection[Any],
    *,
    ids: Sequence[int],
    worker: str,
    lease_seconds: float,
    now: datetime | None = None,
) -> None:
    await conn.execute(
        query("extend_leases"),
        {"ids": list(ids), "worker": worker, "lease_seconds": lease_seconds, "now": now},
    )
