"""Publishing inside the storefront's transaction: SQL, psycopg (sync, async) and SQLAlchemy."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

import outbox
from outbox.errors import NotInTransactionError, UnsupportedConnectionError
from outbox.migrate import sqlalchemy_url
from outbox.models import OutgoingMessage
from outbox.publish import InvalidMessageError


def _count(url: str) -> int:
    with psycopg.connect(url) as c:
        row = c.execute("SELECT count(*) FROM outbox.messages").fetchone()
        assert row is not None
        return int(row[0])


def test_publish_rolled_back_transaction_leaves_no_message(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        outbox.publish(conn, "salesforce", "order.placed", {"n": 1})
        conn.rollback()
    assert _count(db_url) == 0


def test_publish_committed_transaction_leaves_exactly_its_messages(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        first = outbox.publish(conn, "salesforce", "order.placed", {"n": 1}, ordering_key="o:1")
        second = outbox.publish(conn, "thinkific", "enrollment.requested", {"n": 2})
        conn.commit()
    with psycopg.connect(db_url) as c:
        rows = c.execute(
            "SELECT id, destination, event_type, payload, ordering_key, status::text "
            "FROM outbox.messages ORDER BY id"
        ).fetchall()
    assert rows == [
        (first, "salesforce", "order.placed", {"n": 1}, "o:1", "pending"),
        (second, "thinkific", "enrollment.requested", {"n": 2}, None, "pending"),
    ]


def test_publish_python_repeated_idempotency_key_returns_first_id(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        first = outbox.publish(conn, "salesforce", "e", {"v": 1}, idempotency_key="k-1")
        again = outbox.publish(conn, "salesforce", "e", {"v": 2}, idempotency_key="k-1")
        other = outbox.publish(conn, "thinkific", "e", {"v": 3}, idempotency_key="k-1")
        conn.commit()
    assert again == first
    assert other != first
    assert _count(db_url) == 2


def test_publish_sql_repeated_idempotency_key_returns_first_id(
    conn: psycopg.Connection[Any],
) -> None:
    call = "SELECT outbox.publish('salesforce', 'order.placed', %s, 'order:1', 'order.placed:1')"
    first = conn.execute(call, (Jsonb({"a": 1}),)).fetchone()
    again = conn.execute(call, (Jsonb({"a": 2}),)).fetchone()
    assert first == again
    row = conn.execute("SELECT count(*), min(payload->>'a') FROM outbox.messages").fetchone()
    assert row == (1, "1")


def test_publish_sql_defaults_fill_optional_arguments(conn: psycopg.Connection[Any]) -> None:
    row = conn.execute("SELECT outbox.publish('webhook', 'ping', '{}')").fetchone()
    assert row is not None
    stored = conn.execute(
        "SELECT ordering_key, correlation_id, length(idempotency_key) "
        "FROM outbox.messages WHERE id = %s",
        (row[0],),
    ).fetchone()
    assert stored == (None, None, 36)


@pytest.mark.parametrize(
    ("destination", "event_type", "payload", "message"),
    [
        ("nowhere", "x", "{}", 'unknown destination "nowhere"'),
        ("salesforce", "", "{}", "event_type must not be empty"),
        ("salesforce", "x", "[1, 2]", "payload must be a JSON object, got array"),
        ("salesforce", "x", '"text"', "payload must be a JSON object, got string"),
    ],
)
def test_publish_sql_rejects_bad_input_and_aborts_transaction(
    conn: psycopg.Connection[Any], destination: str, event_type: str, payload: str, message: str
) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match=message) as caught:
        conn.execute("SELECT outbox.publish(%s, %s, %s::jsonb)", (destination, event_type, payload))
    assert caught.value.diag.message_hint
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR


def test_publish_python_unknown_destination_names_the_fix(conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(InvalidMessageError, match=r"register it in outbox\.destinations"):
        outbox.publish(conn, "nowhere", "x", {})


@pytest.mark.parametrize(
    ("event_type", "payload", "message"),
    [("", {}, "event_type must not be empty"), ("x", [1], "payload must be a JSON object")],
)
def test_publish_python_rejects_bad_input_before_sql(
    conn: psycopg.Connection[Any], event_type: str, payload: Any, message: str
) -> None:
    with pytest.raises(InvalidMessageError, match=message):
        outbox.publish(conn, "salesforce", event_type, payload)
    assert conn.info.transaction_status != psycopg.pq.TransactionStatus.INERROR


def test_publish_python_payload_that_is_not_json_names_the_message(
    conn: psycopg.Connection[Any],
) -> None:
    good = OutgoingMessage("salesforce", "order.placed", {"n": 1})
    bad = OutgoingMessage("thinkific", "enrollment.requested", {"when": object()})
    with pytest.raises(InvalidMessageError, match=r"enrollment\.requested payload for thinkific"):
        outbox.publish_many(conn, [good, bad])
    assert conn.info.transaction_status != psycopg.pq.TransactionStatus.INERROR
    assert conn.execute("SELECT count(*) FROM outbox.messages").fetchone() == (0,)


def test_publish_python_decimals_travel_as_exact_text(conn: psycopg.Connection[Any]) -> None:
    from decimal import Decimal

    outbox.publish(conn, "salesforce", "order.placed", {"total": Decimal("19.90")})
    assert conn.execute("SELECT payload FROM outbox.messages").fetchone() == ({"total": "19.90"},)


def test_publish_refuses_autocommit_connection(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        with pytest.raises(NotInTransactionError, match=r"conn\.transaction\(\)"):
            outbox.publish(conn, "salesforce", "x", {})
        with conn.transaction():
            outbox.publish(conn, "salesforce", "x", {})
    assert _count(db_url) == 1


async def test_publish_async_joins_the_transaction(db_url: str) -> None:
    correlation = uuid.uuid4()
    async with await psycopg.AsyncConnection.connect(db_url) as conn:
        first = await outbox.publish_async(
            conn, "salesforce", "x", {"a": 1}, idempotency_key="a-1", correlation_id=correlation
        )
        again = await outbox.publish_async(conn, "salesforce", "x", {"a": 1}, idempotency_key="a-1")
        await conn.rollback()
        kept = await outbox.publish_async(conn, "salesforce", "x", {"a": 1}, idempotency_key="a-1")
        await conn.commit()
    assert first == again
    assert kept != first
    assert _count(db_url) == 1


def test_publish_sqlalchemy_session_commits_with_the_session(db_url: str) -> None:
    engine = create_engine(sqlalchemy_url(db_url))
    try:
        with Session(engine) as session:
            session.execute(text("SELECT 1"))
            message_id = outbox.publish(session, "salesforce", "x", {"a": 1}, idempotency_key="s-1")
            session.rollback()
        assert _count(db_url) == 0
        with Session(engine) as session, session.begin():
            message_id = outbox.publish(session, "salesforce", "x", {"a": 1}, idempotency_key="s-1")
            assert (
                outbox.publish(session, "salesforce", "x", {}, idempotency_key="s-1") == message_id
            )
    finally:
        engine.dispose()
    assert _count(db_url) == 1


def test_publish_refuses_an_unknown_connection_type() -> None:
    with pytest.raises(UnsupportedConnectionError, match="psycopg 3 Connection"):
        outbox.publish(object(), "salesforce", "x", {})
