"""Recording a batch's outcomes: attempt rows and new states in one statement.

Connections are in autocommit mode; the single statement is the short transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from dispatcher.destinations.base import Message
from dispatcher.retry import Decision
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


async def finish(
    conn: psycopg.AsyncConnection[Any],
    results: Sequence[Finished],
    *,
    worker: str,
    mapping_version: str | None = None,
) -> set[int]:
    """Apply the results still in flight under ``worker``'s lease; return the ids applied."""
    if not results:
        return set()
    params = {
        "worker": worker,
        "mapping_version": mapping_version,
        "ids": [r.message.id for r in results],
        "numbers": [r.message.attempt for r in results],
        "outcomes": [r.decision.outcome.value for r in results],
        "statuses": [r.decision.status.value for r in results],
        "retry_in": [r.decision.retry_in for r in results],
        "http_statuses": [r.http_status for r in results],
        "error_codes": [r.decision.error_code for r in results],
        "error_messages": [r.decision.error_message for r in results],
        "record_ids": [r.record_id for r in results],
        "started_at": [r.started_at for r in results],
        "finished_at": [r.finished_at for r in results],
        "durations_ms": [r.duration_ms for r in results],
    }
    cursor = await conn.execute(query("finish_messages"), params, binary=True)
    return {row[0] for row in await cursor.fetchall()}


async def pause_destination(
    conn: psycopg.AsyncConnection[Any], destination: str, seconds: float
) -> None:
    await conn.execute(query("pause_destination"), {"destination": destination, "seconds": seconds})
