"""Claiming work: one short transaction per batch, committed before any delivery starts."""

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
    now: datetime | None = None,
) -> list[Message]:
    params = {
        "destination": destination,
        "worker": worker,
        "limit": limit,
        "lease_seconds": lease_seconds,
        "now": now,
    }
    async with conn.transaction():
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
    async with conn.transaction():
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
    async with conn.transaction():
        await conn.execute(
            query("extend_leases"),
            {"ids": list(ids), "worker": worker, "lease_seconds": lease_seconds, "now": now},
        )
