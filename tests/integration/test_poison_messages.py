"""A message the dispatcher cannot decode, map or encode dies alone; its batch goes on.

Rows are inserted with plain SQL, as a storefront that bypasses the Python API could.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson
import psycopg
from psycopg_pool import AsyncConnectionPool

from dispatcher.core import claim
from dispatcher.core.destination import Message, Outcome, Result
from dispatcher.core.redact import forget_secrets, remember_secret
from dispatcher.core.worker import DestinationWorker, WorkerSettings


def insert_rows(conn: psycopg.Connection[Any], rows: Sequence[tuple[str, str]]) -> list[int]:
    """(event type, payload as JSON text) rows for the null destination, in order."""
    ids = []
    for event_type, payload in rows:
        found = conn.execute(
            "INSERT INTO outbox.messages (destination, event_type, payload)"
            " VALUES ('null', %s, %s::jsonb) RETURNING id",
            (event_type, payload),
        ).fetchone()
        assert found is not None
        ids.append(found[0])
    conn.commit()
    return ids


def nested(depth: int) -> str:
    return '{"order": ' + "[" * depth + "]" * depth + "}"


class SerialisingDestination:
    """Encodes the whole batch in one body, as the Salesforce composite call does: one payload
    too deep for orjson (more than 255 levels) makes the batch's encoding raise."""

    name = "null"
    max_batch = 50

    def __init__(self) -> None:
        self.sent: list[int] = []

    async def deliver(self, batch: Sequence[Message]) -> Sequence[Outcome]:
        orjson.dumps([m.payload for m in batch])
        self.sent.extend(m.id for m in batch)
        return [Outcome.delivered(m.id) for m in batch]

    async def aclose(self) -> None:
        return None


async def run_until_settled(db_url: str, destination: Any, count: int) -> None:
    settings = WorkerSettings(batch_size=50, concurrency=1, poll_interval=0.05)
    async with AsyncConnectionPool(
        db_url, min_size=1, max_size=3, open=False, kwargs={"autocommit": True}
    ) as pool:
        worker = DestinationWorker(destination, pool, "w", settings, wakeup=asyncio.Event())
        stopping = asyncio.Event()
        task = asyncio.create_task(worker.run(stopping, grace=5))
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            for _ in range(400):  # a bound against a hang, not a figure under test
                cursor = await conn.execute(
                    "SELECT count(*) FROM outbox.messages WHERE status IN ('delivered', 'dead')"
                )
                row = await cursor.fetchone()
                await conn.commit()
                if row and row[0] == count:
                    break
                await asyncio.sleep(0.05)
        stopping.set()
        await task
        assert not task.cancelled()


def statuses(conn: psycopg.Connection[Any]) -> dict[int, tuple[str, str | None]]:
    rows = conn.execute(
        "SELECT id, status::text, last_error_code FROM outbox.messages ORDER BY id"
    ).fetchall()
    conn.commit()
    return {mid: (status, code) for mid, status, code in rows}


async def test_claim_payload_too_deep_to_decode_is_marked_not_raised(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    ids = insert_rows(conn, [("ok", '{"n": 1}'), ("deep", nested(1000))])
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as aconn:
        batch = await claim.claim(aconn, destination="null", worker="w", limit=10, lease_seconds=30)
    by_id = {m.id: m for m in batch}
    assert by_id[ids[0]].problem is None
    assert by_id[ids[0]].payload == {"n": 1}
    assert by_id[ids[1]].problem == "the payload is nested too deeply to decode"


async def test_worker_unreadable_payload_dies_alone_and_the_rest_is_delivered(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    rows = [("order.placed", f'{{"n": {n}}}') for n in range(10)]
    rows[3] = ("order.placed", nested(1000))
    rows[7] = ("order.placed", nested(3000))
    ids = insert_rows(conn, rows)
    destination = SerialisingDestination()
    await run_until_settled(db_url, destination, len(ids))
    found = statuses(conn)
    assert found[ids[3]] == ("dead", "UNREADABLE_PAYLOAD")
    assert found[ids[7]] == ("dead", "UNREADABLE_PAYLOAD")
    innocent = [mid for n, mid in enumerate(ids) if n not in (3, 7)]
    assert {found[mid] for mid in innocent} == {("delivered", None)}
    assert sorted(destination.sent) == innocent


async def test_worker_batch_that_cannot_be_encoded_isolates_its_culprit(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    rows = [("order.placed", f'{{"n": {n}}}') for n in range(20)]
    rows[11] = ("order.placed", nested(300))  # decodes, but orjson encodes 255 levels at most
    ids = insert_rows(conn, rows)
    destination = SerialisingDestination()
    await run_until_settled(db_url, destination, len(ids))
    found = statuses(conn)
    assert found[ids[11]] == ("dead", "UNENCODABLE_MESSAGE")
    innocent = [mid for n, mid in enumerate(ids) if n != 11]
    assert {found[mid] for mid in innocent} == {("delivered", None)}
    attempts = conn.execute(
        "SELECT count(*) FROM outbox.attempts WHERE message_id = %s", (ids[11],)
    ).fetchone()
    assert attempts == (1,)


class EchoingDestination:
    """Refuses every message with an error sentence that echoes a secret and the customer."""

    name = "null"
    max_batch = 50

    async def deliver(self, batch: Sequence[Message]) -> Sequence[Outcome]:
        text = "invalid_client s3cret-consumer-value; Lovelace, Ada (+44 20 7946 0958) refused"
        return [Outcome(m.id, Result.DEAD, 400, "REFUSED", text) for m in batch]

    async def aclose(self) -> None:
        return None


async def test_worker_error_text_loses_known_secrets_and_the_message_own_names(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    forget_secrets()
    remember_secret("s3cret-consumer-value")
    try:
        payload = '{"customer": {"first_name": "Ada", "last_name": "Lovelace"}}'
        (mid,) = insert_rows(conn, [("order.placed", payload)])
        await run_until_settled(db_url, EchoingDestination(), 1)
    finally:
        forget_secrets()
    row = conn.execute(
        "SELECT m.last_error, a.error_message FROM outbox.messages m"
        " JOIN outbox.attempts a ON a.message_id = m.id WHERE m.id = %s",
        (mid,),
    ).fetchone()
    assert row is not None
    for text in row:
        assert text == "invalid_client [redacted]; [redacted], [redacted] ([redacted]) refused"


class NulDestination:
    """Refuses every message with an error text holding a NUL character, as a hostile or broken
    endpoint may answer: PostgreSQL text cannot hold one."""

    name = "null"
    max_batch = 50

    async def deliver(self, batch: Sequence[Message]) -> Sequence[Outcome]:
        return [Outcome(m.id, Result.DEAD, 400, "REFUSED", "bad\x00byte") for m in batch]

    async def aclose(self) -> None:
        return None


async def test_worker_records_an_error_text_holding_a_nul_character(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    (mid,) = insert_rows(conn, [("order.placed", "{}")])
    await run_until_settled(db_url, NulDestination(), 1)
    row = conn.execute(
        "SELECT m.status::text, m.last_error, a.error_message FROM outbox.messages m"
        " JOIN outbox.attempts a ON a.message_id = m.id WHERE m.id = %s",
        (mid,),
    ).fetchone()
    assert row == ("dead", "bad byte", "bad byte")


async def test_claim_decodes_a_payload_the_way_the_standard_decoder_does(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    # A claim decodes most payloads with orjson, which reads an integer beyond 64 bits as an
    # inexact float; such payloads are decoded exactly, as before.
    big = 123456789012345678901234567890
    payloads = [
        f'{{"n": {big}}}',
        f'{{"n": -{big}, "s": "x"}}',
        '{"f": 1.5, "l": [1, {"a": null}]}',
    ]
    ids = insert_rows(conn, [("e", p) for p in payloads])
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as aconn:
        batch = await claim.claim(aconn, destination="null", worker="w", limit=10, lease_seconds=30)
    by_id = {m.id: m.payload for m in batch}
    assert by_id[ids[0]] == {"n": big}
    assert by_id[ids[1]] == {"n": -big, "s": "x"}
    assert by_id[ids[2]] == {"f": 1.5, "l": [1, {"a": None}]}
