"""Claiming and recording against real PostgreSQL: leases, per-key order, stale finishers."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from dispatcher import claim, record
from dispatcher.destinations.base import Outcome, Result
from dispatcher.record import Finished
from dispatcher.retry import RetryPolicy, decide


@pytest.fixture
async def aconn(db_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        yield conn


def _publish(conn: psycopg.Connection[Any], rows: list[tuple[str | None, int]]) -> list[int]:
    ids = []
    for key, seq in rows:
        row = conn.execute(
            "SELECT outbox.publish('webhook', 'test', %s, %s)", (Jsonb({"seq": seq}), key)
        ).fetchone()
        assert row is not None
        ids.append(row[0])
    conn.commit()
    return ids


def _finished(message: Any, result: Result, **kwargs: Any) -> Finished:
    now = datetime.now(UTC)
    outcome = Outcome(message.id, result, **kwargs)
    decision = decide(outcome, message.attempt, RetryPolicy(), random.Random(0))
    return Finished(message, decision, outcome.http_status, outcome.record_id, now, now)


async def test_claim_offers_one_head_per_ordering_key(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any]
) -> None:
    a1, a2, b1, free = _publish(conn, [("a", 1), ("a", 2), ("b", 1), (None, 1)])
    batch = await claim.claim(aconn, destination="webhook", worker="w1", limit=10, lease_seconds=30)
    assert [m.id for m in batch] == [a1, b1, free]
    assert all(m.attempt == 1 for m in batch)
    again = await claim.claim(aconn, destination="webhook", worker="w2", limit=10, lease_seconds=30)
    assert again == []  # a2 waits behind a1, which is in flight
    await record.finish(aconn, [_finished(batch[0], Result.DELIVERED)], worker="w1")
    after = await claim.claim(aconn, destination="webhook", worker="w2", limit=10, lease_seconds=30)
    assert [m.id for m in after] == [a2]


async def test_claim_dead_message_does_not_block_its_key(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any]
) -> None:
    first, second = _publish(conn, [("k", 1), ("k", 2)])
    batch = await claim.claim(aconn, destination="webhook", worker="w", limit=10, lease_seconds=30)
    await record.finish(
        aconn,
        [_finished(batch[0], Result.DEAD, error_code="HTTP_400", error_message="bad")],
        worker="w",
    )
    nxt = await claim.claim(aconn, destination="webhook", worker="w", limit=10, lease_seconds=30)
    assert [m.id for m in nxt] == [second]
    row = conn.execute(
        "SELECT status::text, last_error_code FROM outbox.messages WHERE id = %s", (first,)
    ).fetchone()
    assert row == ("dead", "HTTP_400")


async def test_claim_two_workers_get_disjoint_batches(
    conn: psycopg.Connection[Any], db_url: str
) -> None:
    _publish(conn, [(None, n) for n in range(10)])
    async with (
        await psycopg.AsyncConnection.connect(db_url, autocommit=True) as one,
        await psycopg.AsyncConnection.connect(db_url, autocommit=True) as two,
    ):
        await one.execute("BEGIN")
        held = await one.execute(
            "SELECT id FROM outbox.messages ORDER BY id LIMIT 4 FOR UPDATE"
        )  # another worker mid-claim
        locked = {row[0] for row in await held.fetchall()}
        batch = await claim.claim(
            two, destination="webhook", worker="w2", limit=10, lease_seconds=30
        )
        await one.execute("ROLLBACK")
    assert {m.id for m in batch}.isdisjoint(locked)
    assert len(batch) == 6


async def test_finish_changes_nothing_when_lease_was_taken_over(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any]
) -> None:
    (message_id,) = _publish(conn, [(None, 1)])
    (slow,) = await claim.claim(
        aconn, destination="webhook", worker="slow", limit=1, lease_seconds=0.05
    )
    await asyncio.sleep(0.1)  # the slow worker's lease lapses
    assert await claim.reclaim_expired(aconn, destination="webhook", worker="rescuer") == 1
    (fast,) = await claim.claim(
        aconn, destination="webhook", worker="fast", limit=1, lease_seconds=30
    )
    assert fast.attempt == 2
    assert await record.finish(aconn, [_finished(slow, Result.DEAD)], worker="slow") == set()
    assert await record.finish(aconn, [_finished(fast, Result.DELIVERED)], worker="fast") == {
        message_id
    }
    attempts = conn.execute(
        "SELECT number, worker, outcome::text, error_code FROM outbox.attempts ORDER BY id"
    ).fetchall()
    assert attempts == [(1, "rescuer", "retry", "LEASE_EXPIRED"), (2, "fast", "delivered", None)]
    assert conn.execute("SELECT status::text FROM outbox.messages").fetchone() == ("delivered",)


async def test_finish_rate_limited_gives_the_attempt_back(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any]
) -> None:
    _publish(conn, [(None, 1)])
    (message,) = await claim.claim(
        aconn, destination="webhook", worker="w", limit=1, lease_seconds=30
    )
    limited = _finished(message, Result.RATE_LIMITED, http_status=429, retry_after=60.0)
    await record.finish(aconn, [limited], worker="w")
    await record.pause_destination(aconn, "webhook", 60.0)
    row = conn.execute(
        "SELECT status::text, attempts, next_attempt_at > now() + interval '50 seconds' "
        "FROM outbox.messages"
    ).fetchone()
    assert row == ("retrying", 0, True)
    assert (
        await claim.claim(aconn, destination="webhook", worker="w", limit=1, lease_seconds=30) == []
    )


async def test_claim_uses_its_index_and_is_never_prepared(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any]
) -> None:
    for _ in range(8):  # more runs than psycopg's prepare threshold, on an empty table
        await claim.claim(aconn, destination="webhook", worker="w", limit=10, lease_seconds=30)
    prepared = await aconn.execute("SELECT count(*) FROM pg_prepared_statements")
    assert await prepared.fetchone() == (0,)
    conn.execute(
        """
        INSERT INTO outbox.messages (destination, event_type, payload, status, ordering_key)
        SELECT 'webhook', 'bulk', '{}', CASE WHEN g % 10 = 0 THEN 'pending' ELSE 'delivered' END
               ::outbox.message_status, 'k' || (g % 500)
          FROM generate_series(1, 20000) g
        """
    )
    conn.commit()
    conn.execute("ANALYZE outbox.messages")
    from outbox.queries import query

    plan = conn.execute(
        "EXPLAIN " + query("claim_messages"),
        {"destination": "webhook", "worker": "w", "limit": 100, "lease_seconds": 30, "now": None},
    ).fetchall()
    text = "\n".join(row[0] for row in plan)
    assert "messages_claimable_idx" in text
    assert "Seq Scan on messages" not in text
