"""Operator actions over the SQL functions, for the CLI: the same code path a DBA's SQL takes.

Each action commits on a connection with no transaction open, and joins (as a savepoint) one
that the caller has open, so a script can group several actions and commit them together.
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from outbox.queries import query


def _as_operator(conn: psycopg.Connection[Any], actor: str | None) -> None:
    conn.execute(query("set_actor"), {"actor": actor or f"cli:{getpass.getuser()}"})


def status(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    lag = conn.execute(query("lag")).fetchall()
    backlog = conn.execute(query("backlog")).fetchall()
    return {
        "destinations": [
            {
                "destination": d,
                "oldest_undelivered_seconds": round(age, 3),
                "undelivered": n,
                "paused_until": paused.isoformat() if paused else None,
            }
            for d, age, n, paused in lag
        ],
        "backlog": [
            {
                "destination": d,
                "status": s,
                "messages": n,
                "oldest_age_seconds": round(age, 3),
                "next_retry_at": nxt.isoformat() if nxt else None,
            }
            for d, s, n, age, nxt in backlog
        ],
    }


def destination_names(conn: psycopg.Connection[Any]) -> list[str]:
    return [name for (name,) in conn.execute(query("destination_names")).fetchall()]


def dead_letters(
    conn: psycopg.Connection[Any], destination: str | None, limit: int
) -> Sequence[tuple[Any, ...]]:
    return conn.execute(
        query("dead_letters"), {"destination": destination, "limit": limit}
    ).fetchall()


def retry(
    conn: psycopg.Connection[Any], message_id: int, reason: str | None, actor: str | None = None
) -> bool:
    with conn.transaction():
        _as_operator(conn, actor)
        row = conn.execute(query("retry"), {"message_id": message_id, "reason": reason}).fetchone()
    return bool(row and row[0])


def retry_dead(
    conn: psycopg.Connection[Any],
    destination: str,
    error_code: str | None,
    reason: str | None,
    actor: str | None = None,
) -> int:
    with conn.transaction():
        _as_operator(conn, actor)
        params = {"destination": destination, "error_code": error_code, "reason": reason}
        row = conn.execute(query("retry_dead"), params).fetchone()
    return int(row[0]) if row else 0


def cancel(
    conn: psycopg.Connection[Any], message_id: int, reason: str, actor: str | None = None
) -> bool:
    with conn.transaction():
        _as_operator(conn, actor)
        row = conn.execute(query("cancel"), {"message_id": message_id, "reason": reason}).fetchone()
    return bool(row and row[0])


def replay(
    conn: psycopg.Connection[Any],
    destination: str,
    since: datetime,
    until: datetime | None,
    event_type: str | None,
    reason: str | None,
    actor: str | None = None,
) -> int:
    params = {
        "destination": destination,
        "since": since,
        "until": until,
        "event_type": event_type,
        "reason": reason,
    }
    with conn.transaction():
        _as_operator(conn, actor)
        row = conn.execute(query("replay"), params).fetchone()
    return int(row[0]) if row else 0


def history(conn: psycopg.Connection[Any], message_id: int) -> Sequence[tuple[Any, ...]]:
    return conn.execute(query("message_history"), {"message_id": message_id}).fetchall()
