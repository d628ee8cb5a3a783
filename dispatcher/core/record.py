"""Recording a batch's outcomes: attempt rows and new states in one statement.

Connections are in autocommit mode; the single statement is the short transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from dispatcher.core.destination import Message
from dispatcher.core.retry import Decision
from outbox.queries import query


@dataclass(frozen=True, slots=True)
class Finished:
    message: Message
    decision: Decision
    http_status: int | None
    record_id: str | None
    started_at: datetime
    finished_at: datetime

    @property
    def duration_ms(self) -> float:
        return max(0.0, (self.finished_at - self.started_at).total_seconds() * 1000)


@dataclass(frozen=True, slots=True)
class Recorded:
    applied: frozenset[int]
    keys_waiting: bool  # some key finished here has a message queued behind it


async def finish(
    conn: psycopg.AsyncConnection[Any],
    results: Sequence[Finished],
    *,
    worker: str,
    mapping_version: str | None = None,
) -> set[int]:
    """Apply the results still in flight under ``worker``'s lease; return the ids applied."""
    recorded = await finish_batch(conn, results, worker=worker, mapping_version=mapping_version)
    return set(recorded.applied)


async def finish_batch(
    conn: psycopg.AsyncConnection[Any],
    results: Sequence[Finished],
    *,
    worker: str,
    mapping_version: str | None = None,
    untried: Sequence[Message] = (),
) -> Recorded:
    """Apply the results still in flight under ``worker``'s lease, and hand back ``untried``.

    ``untried`` messages were claimed but never sent because an earlier message of their key
    failed in the same batch: they return to the queue without an attempt.
    """
    if not results and not untried:
        return Recorded(frozenset(), keys_waiting=False)
    now = datetime.now(UTC)
    params = {
        "worker": worker,
        "mapping_version": mapping_version,
        "ids": [r.message.id for r in results] + [m.id for m in untried],
        "numbers": [r.message.attempt for r in results] + [m.attempt for m in untried],
        "outcomes": [r.decision.outcome.value for r in results] + [None] * len(untried),
        "statuses": [r.decision.status.value for r in results] + [None] * len(untried),
        "retry_in": [r.decision.retry_in for r in results] + [None] * len(untried),
        "http_statuses": [r.http_status for r in results] + [None] * len(untried),
        "error_codes": [r.decision.error_code for r in results] + [None] * len(untried),
        "error_messages": [r.decision.error_message for r in results] + [None] * len(untried),
        "record_ids": [r.record_id for r in results] + [None] * len(untried),
        "started_at": [r.started_at for r in results] + [now] * len(untried),
        "finished_at": [r.finished_at for r in results] + [now] * len(untried),
        "durations_ms": [r.duration_ms for r in results] + [0.0] * len(untried),
    }
    cursor = await conn.execute(query("finish_messages"), params, binary=True)
    rows = await cursor.fetchall()
    return Recorded(frozenset(row[0] for row in rows), any(row[1] for row in rows))


async def pause_destination(
    conn: psycopg.AsyncConnection[Any], destination: str, seconds: float
) -> None:
    await conn.execute(query("pause_destination"), {"destination": destination, "seconds": seconds})
