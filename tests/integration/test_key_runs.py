"""A key's queued messages through the real worker loop: sent in order round by round, stopped
at the first failure, and the next one claimed as soon as the last is recorded."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from dispatcher.core import claim
from dispatcher.core.destination import Message, Outcome, Result
from dispatcher.core.retry import RetryPolicy
from dispatcher.core.worker import DestinationWorker, WorkerSettings


class ScriptedDestination:
    """Records every call; fails the messages whose payload ``seq`` is in ``failing``."""

    name = "webhook"
    max_batch = 100

    def __init__(self, failing: set[str] | None = None) -> None:
        self.failing = failing or set()
        self.calls: list[list[str]] = []

    async def deliver(self, batch: Sequence[Message]) -> Sequence[Outcome]:
        self.calls.append([m.payload["seq"] for m in batch])
        return [
            Outcome(m.id, Result.RETRY, error_code="HTTP_503", error_message="busy")
            if m.payload["seq"] in self.failing
            else Outcome.delivered(m.id)
            for m in batch
        ]

    async def aclose(self) -> None:
        return None


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    async with AsyncConnectionPool(
        db_url, min_size=1, max_size=4, open=False, kwargs={"autocommit": True}
    ) as p:
        yield p


def _publish(conn: psycopg.Connection[Any], seqs: list[tuple[str | None, str]]) -> None:
    for key, seq in seqs:
        conn.execute("SELECT outbox.publish('webhook', 'test', %s, %s)", (Jsonb({"seq": seq}), key))
    conn.commit()


async def _run_until(
    worker: DestinationWorker, done: Callable[[], bool], guard_seconds: float
) -> None:
    stopping = asyncio.Event()
    task = asyncio.create_task(worker.run(stopping, grace=5))
    for _ in range(int(guard_seconds / 0.02)):  # a guard against a hang, not a figure
        if done():
            break
        await asyncio.sleep(0.02)
    stopping.set()
    await task


def _statuses(db_url: str) -> dict[str, tuple[str, int]]:
    with psycopg.connect(db_url) as c:
        rows = c.execute(
            "SELECT payload->>'seq', status::text, attempts FROM outbox.messages"
        ).fetchall()
    return {seq: (status, attempts) for seq, status, attempts in rows}


async def test_worker_sends_a_keys_run_in_order_and_stops_the_key_at_its_first_failure(
    db_url: str, conn: psycopg.Connection[Any], pool: AsyncConnectionPool[Any]
) -> None:
    _publish(
        conn,
        [("a", "a1"), ("b", "b1"), ("a", "a2"), (None, "x"), ("a", "a3"), ("b", "b2"), ("a", "a4")],
    )
    destination = ScriptedDestination(failing={"a3"})
    settings = WorkerSettings(
        batch_size=100, concurrency=1, poll_interval=0.05, policy=RetryPolicy(base_seconds=3600)
    )
    worker = DestinationWorker(
        destination, pool, "w", settings, wakeup=asyncio.Event(), rng=random.Random(7)
    )

    def settled() -> bool:
        return _statuses(db_url).get("a3", ("", 0))[0] == "retrying"

    await _run_until(worker, settled, guard_seconds=30)
    # One batch, one round per position: each key's messages in order, one per call.
    assert destination.calls == [["a1", "b1", "x"], ["a2", "b2"], ["a3"]]
    assert _statuses(db_url) == {
        "a1": ("delivered", 1),
        "a2": ("delivered", 1),
        "a3": ("retrying", 1),
        "a4": ("pending", 0),  # never sent, handed back untried behind the failure
        "b1": ("delivered", 1),
        "b2": ("delivered", 1),
        "x": ("delivered", 1),
    }
    with psycopg.connect(db_url) as c:
        tried = c.execute(
            "SELECT m.payload->>'seq' FROM outbox.attempts a JOIN outbox.messages m"
            " ON m.id = a.message_id ORDER BY a.id"
        ).fetchall()
    assert sorted(seq for (seq,) in tried) == ["a1", "a2", "a3", "b1", "b2", "x"]


async def test_worker_claims_a_keys_next_message_when_the_last_is_recorded_not_at_a_poll(
    db_url: str, conn: psycopg.Connection[Any], pool: AsyncConnectionPool[Any]
) -> None:
    count = 60
    _publish(conn, [("order:1", f"m{n:03}") for n in range(count)])
    destination = ScriptedDestination()
    # One message per batch and a poll far longer than the guard: only the wake-up after each
    # record can drain the key in time.
    settings = WorkerSettings(batch_size=1, concurrency=2, poll_interval=600.0)
    worker = DestinationWorker(destination, pool, "w", settings, wakeup=asyncio.Event())

    def drained() -> bool:
        return all(s == "delivered" for s, _ in _statuses(db_url).values())

    await _run_until(worker, drained, guard_seconds=60)
    assert drained()
    assert destination.calls == [[f"m{n:03}"] for n in range(count)]
    with psycopg.connect(db_url) as c:
        gaps = c.execute(
            """
            SELECT extract(epoch FROM a.started_at - lag(a.finished_at) OVER (ORDER BY a.id))
              FROM outbox.attempts a
            """
        ).fetchall()
    waits = sorted(float(g) for (g,) in gaps if g is not None)
    # From one message's record to the next one's claim: a statement or two, never a poll.
    assert waits[-1] < 5.0


async def test_worker_hands_a_whole_batch_to_a_destination_that_sends_key_runs(
    db_url: str, conn: psycopg.Connection[Any], pool: AsyncConnectionPool[Any]
) -> None:
    _publish(conn, [("a", "a1"), ("b", "b1"), ("a", "a2"), ("a", "a3")])
    destination = ScriptedDestination()
    destination.sends_key_runs = True  # type: ignore[attr-defined]
    settings = WorkerSettings(batch_size=100, concurrency=1, poll_interval=0.05)
    worker = DestinationWorker(destination, pool, "w", settings, wakeup=asyncio.Event())

    def drained() -> bool:
        return all(s == "delivered" for s, _ in _statuses(db_url).values())

    await _run_until(worker, drained, guard_seconds=30)
    assert destination.calls == [["a1", "b1", "a2", "a3"]]


async def test_worker_that_claimed_every_claimable_head_claims_again_only_after_the_record(
    db_url: str,
    conn: psycopg.Connection[Any],
    pool: AsyncConnectionPool[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _publish(conn, [("order:1", f"m{n}") for n in range(6)])
    entered, gate = asyncio.Event(), asyncio.Event()

    class Gated(ScriptedDestination):
        async def deliver(self, batch: Sequence[Message]) -> Sequence[Outcome]:
            entered.set()
            await gate.wait()
            return await super().deliver(batch)

    claims: list[int] = []
    real_claim = claim.claim

    async def counted(*args: Any, **kwargs: Any) -> claim.Claimed:
        found = await real_claim(*args, **kwargs)
        claims.append(len(found))
        return found

    monkeypatch.setattr(claim, "claim", counted)
    destination = Gated()
    # A free slot and a poll far longer than the guard: only the record can start the next claim.
    settings = WorkerSettings(batch_size=3, concurrency=2, poll_interval=600.0)
    worker = DestinationWorker(destination, pool, "w", settings, wakeup=asyncio.Event())
    stopping = asyncio.Event()
    task = asyncio.create_task(worker.run(stopping, grace=5))
    await asyncio.wait_for(entered.wait(), timeout=30)
    # One key: the claim took its head with the run behind it, every claimable head there was.
    # A second claim now could only find nothing and slow the record down. The old loop made
    # it within milliseconds of the first; this bound only gives it time to show up.
    await asyncio.sleep(0.3)
    assert claims == [3]
    gate.set()

    def drained() -> bool:
        return all(s == "delivered" for s, _ in _statuses(db_url).values())

    for _ in range(1500):  # a guard against a hang, not a figure
        if drained():
            break
        await asyncio.sleep(0.02)
    stopping.set()
    await task
    assert drained()
    assert claims[:2] == [3, 3]
    assert destination.calls == [[f"m{n}"] for n in range(6)]


async def test_worker_delivers_unkeyed_messages_queued_behind_a_long_keys_backlog_at_once(
    db_url: str, conn: psycopg.Connection[Any], pool: AsyncConnectionPool[Any]
) -> None:
    # 300 messages of one key, then 5 without a key: a batch of 10 reads the 20 oldest rows,
    # all the key's. The unkeyed messages go in the first batch, not after 30 of the key's.
    conn.execute(
        """
        INSERT INTO outbox.messages (destination, event_type, payload, ordering_key)
        SELECT 'webhook', 'test', jsonb_build_object('seq', 'k' || g), 'order:1'
          FROM generate_series(1, 300) g
        """
    )
    conn.commit()
    _publish(conn, [(None, f"x{n}") for n in range(5)])
    destination = ScriptedDestination()
    settings = WorkerSettings(batch_size=10, concurrency=1, poll_interval=0.05)
    worker = DestinationWorker(destination, pool, "w", settings, wakeup=asyncio.Event())

    def unkeyed_delivered() -> bool:
        statuses = _statuses(db_url)
        return all(statuses[f"x{n}"][0] == "delivered" for n in range(5))

    await _run_until(worker, unkeyed_delivered, guard_seconds=30)
    assert unkeyed_delivered()
    # The key's head and five unkeyed messages: the unkeyed take a place each, and the key's
    # run fills the rest of the batch, one message a round.
    assert destination.calls[:5] == [
        ["k1", "x0", "x1", "x2", "x3", "x4"],
        ["k2"],
        ["k3"],
        ["k4"],
        ["k5"],
    ]


async def test_worker_claims_through_the_claim_pool_on_one_generic_plan(
    db_url: str, conn: psycopg.Connection[Any], pool: AsyncConnectionPool[Any]
) -> None:
    # Three keys of 100 and 50 unkeyed, batches of 20: the worker claims through the statement
    # planned once; every message still goes once, in key order.
    _publish(
        conn, [(f"k{n % 3}", f"{n}") for n in range(300)] + [(None, f"u{n}") for n in range(50)]
    )
    destination = ScriptedDestination()
    settings = WorkerSettings(batch_size=20, concurrency=1, poll_interval=0.05)
    async with AsyncConnectionPool(
        db_url,
        min_size=1,
        max_size=1,
        open=False,
        kwargs={"autocommit": True},
        configure=claim.plan_once,  # as the daemon's claim pool
    ) as claims:
        worker = DestinationWorker(
            destination, pool, "w", settings, wakeup=asyncio.Event(), claims=claims
        )

        def all_delivered() -> bool:
            return all(status == "delivered" for status, _ in _statuses(db_url).values())

        await _run_until(worker, all_delivered, guard_seconds=60)
        async with claims.connection() as claimer:
            cursor = await claimer.execute(
                "SELECT generic_plans FROM pg_prepared_statements "
                "WHERE statement LIKE '%%due AS MATERIALIZED%%'"
            )
            plans = await cursor.fetchall()
    assert all_delivered()
    sent = [seq for call in destination.calls for seq in call]
    assert sorted(sent) == sorted(_statuses(db_url))  # each once
    for key in range(3):
        ours = [int(seq) for seq in sent if not seq.startswith("u") and int(seq) % 3 == key]
        assert ours == sorted(ours)
    assert plans
    assert plans[0][0] > 5  # the claims ran on its one generic plan
