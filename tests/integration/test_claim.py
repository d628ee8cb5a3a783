"""Claiming and recording against real PostgreSQL: leases, per-key order, stale finishers."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from dispatcher.core import claim, record
from dispatcher.core.destination import Outcome, Result
from dispatcher.core.record import Finished
from dispatcher.core.retry import RetryPolicy, decide


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


async def test_claim_offers_each_head_with_the_run_queued_behind_it(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any]
) -> None:
    a1, a2, b1, free, a3 = _publish(conn, [("a", 1), ("a", 2), ("b", 1), (None, 1), ("a", 3)])
    batch = await claim.claim(aconn, destination="webhook", worker="w1", limit=10, lease_seconds=30)
    assert [m.id for m in batch] == [a1, a2, b1, free, a3]
    assert all(m.attempt == 1 for m in batch)
    (a4,) = _publish(conn, [("a", 4)])
    again = await claim.claim(aconn, destination="webhook", worker="w2", limit=10, lease_seconds=30)
    assert again == []  # a4 waits behind a1 to a3, which are in flight
    await record.finish(aconn, [_finished(m, Result.DELIVERED) for m in batch], worker="w1")
    after = await claim.claim(aconn, destination="webhook", worker="w2", limit=10, lease_seconds=30)
    assert [m.id for m in after] == [a4]


async def test_claim_shares_the_limit_between_heads_first(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any]
) -> None:
    ids = _publish(conn, [(key, n) for n in range(5) for key in ("a", "b", "c")])
    batch = await claim.claim(aconn, destination="webhook", worker="w", limit=4, lease_seconds=30)
    # Three heads, so each key may bring at most ceil(4 / 3) = 2: every head before any follower.
    a1, b1, c1, a2 = ids[0], ids[1], ids[2], ids[3]
    assert [m.id for m in batch] == [a1, b1, c1, a2]


async def test_claim_never_takes_a_message_without_every_earlier_one_of_its_key(
    conn: psycopg.Connection[Any], db_url: str
) -> None:
    a1, a2, a3, b1 = _publish(conn, [("a", 1), ("a", 2), ("a", 3), ("b", 1)])
    async with (
        await psycopg.AsyncConnection.connect(db_url, autocommit=True) as one,
        await psycopg.AsyncConnection.connect(db_url, autocommit=True) as two,
    ):
        await one.execute("BEGIN")
        await one.execute("SELECT id FROM outbox.messages WHERE id = %s FOR UPDATE", (a1,))
        batch = await claim.claim(
            two, destination="webhook", worker="w2", limit=10, lease_seconds=30
        )
        await one.execute("ROLLBACK")
        later = await claim.claim(
            two, destination="webhook", worker="w2", limit=10, lease_seconds=30
        )
    # a1 was held by another worker mid-claim: a2 and a3 must not go ahead of it.
    assert [m.id for m in batch] == [b1]
    assert [m.id for m in later] == [a1, a2, a3]


async def test_claim_dead_message_does_not_block_its_key(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any]
) -> None:
    first, second = _publish(conn, [("k", 1), ("k", 2)])
    batch = await claim.claim(aconn, destination="webhook", worker="w", limit=10, lease_seconds=30)
    assert [m.id for m in batch] == [first, second]
    recorded = await record.finish_batch(
        aconn,
        [_finished(batch[0], Result.DEAD, error_code="HTTP_400", error_message="bad")],
        worker="w",
        untried=[batch[1]],
    )
    assert recorded.applied == {first, second}
    assert recorded.keys_waiting  # the dead head has `second` queued behind it
    nxt = await claim.claim(aconn, destination="webhook", worker="w", limit=10, lease_seconds=30)
    assert [m.id for m in nxt] == [second]
    row = conn.execute(
        "SELECT status::text, last_error_code FROM outbox.messages WHERE id = %s", (first,)
    ).fetchone()
    assert row == ("dead", "HTTP_400")


async def test_finish_hands_back_untried_messages_as_they_were(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any]
) -> None:
    first, second, third = _publish(conn, [("k", 1), ("k", 2), ("k", 3)])
    batch = await claim.claim(aconn, destination="webhook", worker="w", limit=10, lease_seconds=30)
    failed = _finished(batch[0], Result.RETRY, error_code="HTTP_503", error_message="down")
    recorded = await record.finish_batch(aconn, [failed], worker="w", untried=batch[1:])
    assert recorded.applied == {first, second, third}
    assert not recorded.keys_waiting  # the head is retrying: nothing behind it may go yet
    rows = conn.execute(
        "SELECT id, status::text, attempts, lease_owner, last_error_code"
        " FROM outbox.messages ORDER BY id"
    ).fetchall()
    assert rows == [
        (first, "retrying", 1, None, "HTTP_503"),
        (second, "pending", 0, None, None),
        (third, "pending", 0, None, None),
    ]
    attempts = conn.execute("SELECT message_id, outcome::text FROM outbox.attempts").fetchall()
    assert attempts == [(first, "retry")]


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

    plan = conn.execute("EXPLAIN " + query("claim_messages"), CLAIM_PARAMS).fetchall()
    text = "\n".join(row[0] for row in plan)
    assert "messages_claimable_idx" in text
    assert "messages_unkeyed_claimable_idx" in text
    assert "Seq Scan on messages" not in text


CLAIM_PARAMS = {
    "destination": "webhook",
    "worker": "w",
    "limit": 100,
    "lease_seconds": 30,
    "walk_from": None,
    "now": None,
}


def _explained_claim(
    conn: psycopg.Connection[Any], *, walk_from: str | None = None, buffers: bool = False
) -> dict[str, Any]:
    """The plan of one claim of 100 from 'webhook', run (EXPLAIN ANALYZE), as JSON."""
    from outbox.queries import query

    options = "ANALYZE, BUFFERS, FORMAT JSON" if buffers else "ANALYZE, FORMAT JSON"
    params = {**CLAIM_PARAMS, "walk_from": walk_from}
    row = conn.execute(f"EXPLAIN ({options}) " + query("claim_messages"), params).fetchone()
    assert row is not None
    plan: dict[str, Any] = row[0][0]["Plan"]
    return plan


def _rows_read(node: dict[str, Any]) -> int:
    """Rows a plan node and its children read from outbox.messages, filtered ones included."""
    own = 0
    if node.get("Relation Name") == "messages":
        per_loop = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
        own = int(per_loop * node.get("Actual Loops", 1))
    return own + sum(_rows_read(child) for child in node.get("Plans", []))


@pytest.mark.parametrize(
    ("keys", "per_key", "key_by_key"),
    [(10, 500, True), (10, 5000, True), (1, 5000, False), (1, 50000, False), (5000, 1, False)],
)
def test_claim_reads_the_same_rows_however_the_backlog_is_spread_over_keys(
    conn: psycopg.Connection[Any], keys: int, per_key: int, key_by_key: bool
) -> None:
    conn.execute(
        """
        INSERT INTO outbox.messages (destination, event_type, payload, ordering_key)
        SELECT 'webhook', 'bulk', '{}',
               'k' || CASE WHEN %(key_by_key)s THEN (g - 1) / %(per_key)s::int
                           ELSE g %% %(keys)s::int END
          FROM generate_series(1, %(keys)s::int * %(per_key)s::int) g
        """,
        {"keys": keys, "per_key": per_key, "key_by_key": key_by_key},
    )
    conn.commit()
    conn.execute("ANALYZE outbox.messages")

    claimed = []
    for _ in range(3):  # the second and third claims find the first keys in flight
        plan = _explained_claim(conn)
        claimed.append(plan["Actual Rows"])
        # The old claim read the whole backlog (an index probe per row) whenever fewer keys
        # than the limit were live; this one reads a bounded number of rows.
        assert _rows_read(plan) <= 1500, (keys, per_key)
    conn.rollback()
    assert claimed[0] == min(100, keys * per_key)


def test_claim_reads_a_bounded_number_of_rows_while_one_long_key_drains(
    conn: psycopg.Connection[Any],
) -> None:
    # One key, 20,000 messages, its runs claimed and delivered one after the other, and no
    # ANALYZE since the backlog arrived (autovacuum had not come by): the claim walks the
    # keys, since the rows it read first are all behind the key's head. Looking the head up
    # by joining the walk let the planner scan every due row of the backlog instead (20,000
    # here, a million in a large outage); a probe per key walked reads a handful.
    conn.execute(
        """
        INSERT INTO outbox.messages (destination, event_type, payload, ordering_key)
        SELECT 'webhook', 'bulk', '{}', 'k0' FROM generate_series(1, 20000) g
        """
    )
    conn.commit()

    for _ in range(5):
        plan = _explained_claim(conn, walk_from="k0")
        assert plan["Actual Rows"] == 100
        assert _rows_read(plan) <= 1500
        conn.execute("UPDATE outbox.messages SET status = 'delivered' WHERE status = 'in_flight'")
        conn.commit()


def _long_key_then_unkeyed(conn: psycopg.Connection[Any], backlog: int, unkeyed: int) -> None:
    """``backlog`` messages on key k0, then ``unkeyed`` messages without a key, all due."""
    conn.execute(
        """
        INSERT INTO outbox.messages (destination, event_type, payload, ordering_key)
        SELECT 'webhook', 'bulk', jsonb_build_object('seq', g), 'k0'
          FROM generate_series(1, %(backlog)s::int) g
        """,
        {"backlog": backlog},
    )
    conn.execute(
        """
        INSERT INTO outbox.messages (destination, event_type, payload)
        SELECT 'webhook', 'bulk', jsonb_build_object('seq', g)
          FROM generate_series(1, %(unkeyed)s::int) g
        """,
        {"unkeyed": unkeyed},
    )
    conn.commit()


async def test_claim_takes_unkeyed_messages_queued_after_a_long_keys_backlog(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any]
) -> None:
    # The 200 rows the claim reads first are all k0's: unkeyed messages newer than that backlog
    # used to wait until the key had drained, 100 of k0's messages per claim.
    _long_key_then_unkeyed(conn, backlog=10_000, unkeyed=100)
    unkeyed = [
        row[0]
        for row in conn.execute(
            "SELECT id FROM outbox.messages WHERE ordering_key IS NULL ORDER BY id"
        ).fetchall()
    ]
    (head,) = conn.execute("SELECT min(id) FROM outbox.messages").fetchone() or (None,)

    async def claimed() -> claim.Claimed:
        return await claim.claim(
            aconn, destination="webhook", worker="w", limit=100, lease_seconds=30
        )

    # k0's head and 99 unkeyed messages: 100 heads, so k0 brings no run behind its head.
    first = await claimed()
    assert [m.id for m in first] == [head, *unkeyed[:99]]
    assert not first.every_key
    # k0's head is in flight, so nothing else of k0 may go: the last unkeyed message is all.
    second = await claimed()
    assert [m.id for m in second] == unkeyed[99:]
    assert second.every_key


async def test_claim_leaves_the_places_unkeyed_messages_do_not_use_to_the_keys(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any]
) -> None:
    # Six heads: an equal share each would give k0 17 places and leave 78 empty; an unkeyed
    # message has nothing behind it, so it takes one place and k0's run takes the other 95.
    _long_key_then_unkeyed(conn, backlog=1_000, unkeyed=5)
    batch = await claim.claim(aconn, destination="webhook", worker="w", limit=100, lease_seconds=30)
    assert len(batch) == 100
    assert sum(m.ordering_key is None for m in batch) == 5
    assert [m.payload["seq"] for m in batch if m.ordering_key == "k0"] == list(range(1, 96))


async def test_claim_takes_heads_walked_to_and_unkeyed_messages_oldest_first(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any]
) -> None:
    # Past the 20 rows read (all k0's), k1's head is older than the unkeyed messages and k2's
    # newer: the room left after k0 goes to the oldest of them, keyed or not.
    a = _publish(conn, [("k0", n) for n in range(30)])
    (b,) = _publish(conn, [("k1", 0)])
    loose = _publish(conn, [(None, n) for n in range(20)])
    _publish(conn, [("k2", 0)])
    batch = await claim.claim(aconn, destination="webhook", worker="w", limit=10, lease_seconds=30)
    assert [m.id for m in batch] == [a[0], b, *loose[:8]]


def test_claim_reads_a_bounded_number_of_rows_for_unkeyed_messages_after_a_long_key(
    conn: psycopg.Connection[Any],
) -> None:
    # Scanning the claimable index past k0's 20,000 messages for the unkeyed ones behind them
    # would read the whole backlog; their own index gives exactly the rows taken.
    _long_key_then_unkeyed(conn, backlog=20_000, unkeyed=1_000)
    conn.execute("ANALYZE outbox.messages")

    for n in range(5):
        plan = _explained_claim(conn, walk_from="k0", buffers=True)
        # k0's head with 99 unkeyed messages first; then only unkeyed ones, k0's head in flight.
        assert plan["Actual Rows"] == 100
        assert _rows_read(plan) <= 1500, n
        assert _uses_index(plan, "messages_unkeyed_claimable_idx")
        buffers = plan["Shared Hit Blocks"] + plan["Shared Read Blocks"]
        assert buffers <= 5000, n
    conn.rollback()


def _uses_index(node: dict[str, Any], name: str) -> bool:
    return node.get("Index Name") == name or any(
        _uses_index(child, name) for child in node.get("Plans", [])
    )


async def test_claim_walks_keys_from_after_the_last_one_claimed_and_wraps_around(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any]
) -> None:
    # Five keys one after another, 10 messages each: the 4 rows the claim reads first are all
    # key k0's, so the other heads are found by walking the keys.
    conn.execute(
        """
        INSERT INTO outbox.messages (destination, event_type, payload, ordering_key)
        SELECT 'webhook', 'bulk', '{}', 'k' || ((g - 1) / 10) FROM generate_series(1, 50) g
        """
    )
    conn.commit()

    async def heads(walk_from: str | None) -> list[str | None]:
        batch = await claim.claim(
            aconn, destination="webhook", worker="w", limit=2, lease_seconds=30,
            walk_from=walk_from,
        )  # fmt: skip
        await aconn.execute(
            "UPDATE outbox.messages SET status = 'pending', lease_owner = NULL,"
            " lease_expires_at = NULL WHERE id = ANY(%s)",
            ([m.id for m in batch],),
        )
        return [m.ordering_key for m in batch]

    assert await heads(None) == ["k0", "k1"]
    assert await heads("k2") == ["k0", "k3"]
    assert await heads("k4") == ["k0", "k1"]  # past the last key, the walk starts over
    conn.execute(
        "UPDATE outbox.messages SET status = 'in_flight', lease_owner = 'x',"
        " lease_expires_at = now() + interval '1 minute' WHERE ordering_key = 'k0'"
    )
    conn.commit()
    assert await heads("k3") == ["k1", "k4"]  # k1 read first, k4 walked to after k3


async def test_claim_says_whether_it_took_every_key_that_could_be_claimed(
    db_url: str, conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any]
) -> None:
    async def claimed(limit: int) -> claim.Claimed:
        return await claim.claim(
            aconn, destination="webhook", worker="w", limit=limit, lease_seconds=30
        )

    # Three keys of five: three heads, fewer than the limit; nothing else could be claimed.
    _publish(conn, [(f"k{n % 3}", n) for n in range(15)])
    batch = await claimed(10)
    assert len(batch) == 10
    assert batch.every_key
    assert await claimed(10) == []
    conn.execute("DELETE FROM outbox.messages")
    conn.commit()
    # Twenty messages without a key: as many heads as the limit, more to claim.
    ids = _publish(conn, [(None, n) for n in range(20)])
    batch = await claimed(10)
    assert not batch.every_key
    conn.execute("UPDATE outbox.messages SET status = 'pending', lease_owner = NULL")
    conn.commit()
    # Another worker's claim holds five of the ten oldest: this claim skips them and takes the
    # next five behind its ten instead of coming back short (two dispatchers claiming at once
    # read the same oldest rows; the second used to get nothing and wait for a poll). It looks
    # no further than twice its limit: with the oldest fifteen held, five are left.
    for held, taken in ((ids[:5], ids[5:15]), (ids[:15], ids[15:20])):
        with psycopg.connect(db_url) as other:
            other.execute("SELECT id FROM outbox.messages WHERE id = ANY(%s) FOR UPDATE", (held,))
            batch = await claimed(10)
            assert [m.id for m in batch] == taken
            assert not batch.every_key
        conn.execute("UPDATE outbox.messages SET status = 'pending', lease_owner = NULL")
        conn.commit()


@pytest.mark.parametrize(
    "keys",
    [
        [None] * 300,  # no ordering keys
        [f"k{n % 10}" for n in range(300)],  # ten keys interleaved
        ["k"] * 300,  # one long key
        [None if n % 3 else f"k{n % 7}" for n in range(300)],  # keys among unkeyed messages
    ],
    ids=["unkeyed", "ten-keys", "one-key", "mixed"],
)
async def test_a_claim_planned_once_takes_what_a_claim_planned_each_time_takes(
    db_url: str, conn: psycopg.Connection[Any], keys: list[str | None]
) -> None:
    # A busy dispatcher claims through a prepared statement with one generic plan per
    # connection; it must take exactly the rows the statement planned for each call takes,
    # claim after claim (the later ones find the first keys in flight and walk).
    _publish(conn, [(key, n) for n, key in enumerate(keys)])
    conn.execute("ANALYZE outbox.messages")
    conn.commit()

    async def three_claims(prepared: bool) -> list[list[int]]:
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as claimer:
            if prepared:
                await claim.plan_once(claimer)
            taken = []
            walk_from = None
            for _ in range(3):
                batch = await claim.claim(
                    claimer,
                    destination="webhook",
                    worker="w",
                    limit=40,
                    lease_seconds=30,
                    walk_from=walk_from,
                    prepared=prepared,
                )
                taken.append([m.id for m in batch])
                walk_from = max((m.ordering_key for m in batch if m.ordering_key), default=None)
                if len(taken) == 2:  # the third claim finds the second batch still in flight
                    continue
                delivered = [_finished(m, Result.DELIVERED) for m in batch]
                await record.finish_batch(claimer, delivered, worker="w")
        conn.execute("DELETE FROM outbox.attempts")
        conn.execute(
            "UPDATE outbox.messages SET status = 'pending', lease_owner = NULL, "
            "lease_expires_at = NULL, delivered_at = NULL, attempts = 0"
        )
        conn.commit()
        return taken

    each_time = await three_claims(prepared=False)
    once = await three_claims(prepared=True)
    assert once == each_time
    assert all(once[:2])  # the first two claims took something


def test_a_claim_planned_on_statistics_without_keys_still_probes_keys_by_index(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    # The plan is made once, when the table's statistics say no message has an ordering key;
    # then keyed messages arrive and no ANALYZE has come by. A key probe planned as a bitmap
    # scan for "no rows" reads every row of the key range instead (20,000 here, 80 ms a claim).
    conn.execute(
        "INSERT INTO outbox.messages (destination, event_type, payload)"
        " SELECT 'webhook', 'bulk', '{}' FROM generate_series(1, 5000)"
    )
    conn.commit()
    conn.execute("ANALYZE outbox.messages")
    conn.commit()
    from outbox.queries import query

    names: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    text = re.sub(r"%\((\w+)\)s", placeholder, query("claim_messages")).replace("%%", "%")
    types = {
        "destination": "text",
        "worker": "text",
        "limit": "int",
        "lease_seconds": "float8",
        "walk_from": "text",
        "now": "timestamptz",
    }
    literal = {key: "NULL" if value is None else repr(value) for key, value in CLAIM_PARAMS.items()}
    arguments = ", ".join(literal[name] for name in names)
    with psycopg.connect(db_url, autocommit=True) as claimer:
        for setting in claim.PLAN_ONCE:
            claimer.execute(setting)
        claimer.execute(f"PREPARE claim ({', '.join(types[n] for n in names)}) AS {text}")
        claimer.execute("BEGIN")
        claimer.execute(f"EXECUTE claim ({arguments})")  # the plan is made here
        claimer.execute("ROLLBACK")
        conn.execute("DELETE FROM outbox.messages")
        conn.execute(
            "INSERT INTO outbox.messages (destination, event_type, payload, ordering_key)"
            " SELECT 'webhook', 'bulk', '{}', 'k' || (g % 10) FROM generate_series(1, 20000) g"
        )
        conn.commit()
        for _ in range(3):  # the later claims find the first runs in flight and walk
            row = claimer.execute(
                f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE claim ({arguments})"
            ).fetchone()
            assert row is not None
            assert _rows_read(row[0][0]["Plan"]) <= 1500
