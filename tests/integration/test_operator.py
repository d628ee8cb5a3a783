"""The DBA's and operator's tools: views, retry, cancel, replay, history, all audited."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from dispatcher.core import claim, record
from dispatcher.core.destination import Outcome, Result
from dispatcher.core.record import Finished
from dispatcher.core.retry import RetryPolicy, decide
from dispatcher.ops import messages


@pytest.fixture
async def aconn(db_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        yield conn


def _publish(conn: psycopg.Connection[Any], n: int, key: str | None = None) -> list[int]:
    ids = []
    for i in range(n):
        row = conn.execute(
            "SELECT outbox.publish('webhook', 'test', %s, %s)", (Jsonb({"i": i}), key)
        ).fetchone()
        assert row is not None
        ids.append(row[0])
    conn.commit()
    return ids


async def _deliver_all(
    aconn: psycopg.AsyncConnection[Any], result: Result, code: str | None = None
) -> list[int]:
    batch = await claim.claim(aconn, destination="webhook", worker="w", limit=100, lease_seconds=30)
    now = datetime.now(UTC)
    finished = [
        Finished(
            m,
            decide(
                Outcome(m.id, result, 400 if code else 200, code, code and f"{code}: bad"),
                m.attempt,
                RetryPolicy(),
                random.Random(0),
            ),
            400 if code else 200,
            None,
            now,
            now,
        )
        for m in batch
    ]
    await record.finish(aconn, finished, worker="w")
    return [m.id for m in batch]


async def test_retry_of_a_dead_letter_is_then_delivered(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any]
) -> None:
    (message_id,) = _publish(conn, 1)
    await _deliver_all(aconn, Result.DEAD, "INVALID_FIELD")
    dead = conn.execute("SELECT id, error_code, attempts FROM outbox.dead_letters").fetchall()
    assert dead == [(message_id, "INVALID_FIELD", 1)]
    conn.commit()  # operations join an open transaction; end the one our reads began
    assert messages.retry(conn, message_id, "field renamed back", actor="ops:ada")
    assert await _deliver_all(aconn, Result.DELIVERED) == [message_id]
    history = messages.history(conn, message_id)
    assert [(h[1], h[4]) for h in history] == [
        ("published", "delivered"),
        ("attempt", "dead"),
        ("operator", "retry"),
        ("attempt", "delivered"),
    ]
    assert history[2][3] == "ops:ada"


async def test_retry_dead_selects_by_error_code(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any]
) -> None:
    _publish(conn, 3)
    await _deliver_all(aconn, Result.DEAD, "STRING_TOO_LONG")
    _publish(conn, 2)
    await _deliver_all(aconn, Result.DEAD, "INVALID_FIELD")
    assert messages.retry_dead(conn, "webhook", "INVALID_FIELD", "fixed mapping") == 2
    conn.commit()
    causes = conn.execute(
        "SELECT error_code, messages FROM outbox.dead_letter_causes ORDER BY 1"
    ).fetchall()
    assert causes == [("STRING_TOO_LONG", 3)]
    audit = conn.execute(
        "SELECT action, destination, detail, affected FROM outbox.operator_actions"
    ).fetchall()
    assert audit == [("retry_dead", "webhook", "error_code=INVALID_FIELD", 2)]


async def test_cancel_needs_a_reason_and_beats_a_late_finisher(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any]
) -> None:
    first, second = _publish(conn, 2, key="order:1")
    (held,) = await claim.claim(aconn, destination="webhook", worker="w", limit=1, lease_seconds=30)
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="say why"):
        conn.execute("SELECT outbox.cancel(%s, '')", (first,))
    conn.rollback()
    assert messages.cancel(conn, first, "customer asked")
    conn.commit()
    now = datetime.now(UTC)
    late = Finished(
        held,
        decide(Outcome(held.id, Result.DELIVERED), 1, RetryPolicy(), random.Random(0)),
        200,
        None,
        now,
        now,
    )
    assert await record.finish(aconn, [late], worker="w") == set()
    nxt = await claim.claim(aconn, destination="webhook", worker="w", limit=5, lease_seconds=30)
    assert [m.id for m in nxt] == [second]  # the cancelled head no longer blocks its key


async def test_replay_republishes_delivered_messages_in_order(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any]
) -> None:
    ids = _publish(conn, 3, key="order:9")
    for _ in ids:
        await _deliver_all(aconn, Result.DELIVERED)
    since = datetime.now(UTC) - timedelta(hours=1)
    assert messages.replay(conn, "webhook", since, None, None, "restore") == 3
    conn.commit()
    copies = conn.execute(
        "SELECT payload->>'i', ordering_key, idempotency_key LIKE '%:replay:%' "
        "FROM outbox.messages WHERE status = 'pending' ORDER BY id"
    ).fetchall()
    assert copies == [("0", "order:9", True), ("1", "order:9", True), ("2", "order:9", True)]


async def test_views_report_backlog_lag_and_blocked_keys(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any]
) -> None:
    head, _behind = _publish(conn, 2, key="order:7")
    batch = await claim.claim(aconn, destination="webhook", worker="w", limit=5, lease_seconds=30)
    now = datetime.now(UTC)
    outcome = Outcome(head, Result.RETRY, 503, "HTTP_503", "busy", retry_after=0)
    await record.finish_batch(
        aconn,
        [
            Finished(
                batch[0], decide(outcome, 1, RetryPolicy(), random.Random(0)), 503, None, now, now
            )
        ],
        worker="w",
        untried=batch[1:],
    )
    blocked = conn.execute(
        "SELECT ordering_key, head_message_id, head_status::text, head_attempts, waiting_behind"
        " FROM outbox.blocked_keys"
    ).fetchall()
    assert blocked == [("order:7", head, "retrying", 1, 1)]  # from its first failure on
    conn.commit()
    await claim.claim(aconn, destination="webhook", worker="w", limit=1, lease_seconds=30)
    report = messages.status(conn)
    webhook = next(d for d in report["destinations"] if d["destination"] == "webhook")
    assert webhook["undelivered"] == 2
    statuses = {(b["destination"], b["status"]): b["messages"] for b in report["backlog"]}
    assert statuses == {("webhook", "in_flight"): 1, ("webhook", "pending"): 1}
    blocked = conn.execute(
        "SELECT ordering_key, head_message_id, waiting_behind FROM outbox.blocked_keys"
    ).fetchall()
    assert blocked == [("order:7", head, 1)]
