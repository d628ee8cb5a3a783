"""The publish contract's limits, from SQL and from Python alike (README: the publish contract)."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

import outbox
from outbox.errors import InvalidMessageError
from outbox.limits import MAX_KEY_LENGTH, MAX_PAYLOAD_BYTES, MAX_PAYLOAD_DEPTH
from outbox.models import OutgoingMessage


def _nested(levels: int) -> dict[str, Any]:
    """An object ``levels`` containers deep, counting itself."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def _sql_publish(conn: psycopg.Connection[Any], *args: Any) -> Any:
    placeholders = ", ".join(["%s"] * len(args))
    row = conn.execute(f"SELECT outbox.publish({placeholders})", args).fetchone()
    assert row is not None
    return row[0]


def _count(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) FROM outbox.messages").fetchone()
    assert row is not None
    return int(row[0])


# Each case: (destination, event_type, payload, ordering_key, idempotency_key, what the error says)
REFUSED = [
    ("x" * 100_000, "e", {}, None, None, "destination is not a destination name"),
    ("Salesforce", "e", {}, None, None, "destination is not a destination name"),
    ("salesforce", " ", {}, None, None, "event_type must not be empty"),
    ("salesforce", "order placed", {}, None, None, "event_type is not a plain name"),
    ("salesforce", "bestellung.geändert", {}, None, None, "event_type is not a plain name"),
    ("salesforce", "order.\u202eplaced", {}, None, None, "event_type is not a plain name"),
    ("salesforce", "e" * 1_000_000, {}, None, None, "event_type is not a plain name"),
    ("salesforce", "e", {}, "order:\u202e1", None, "ordering_key holds the character U\\+202E"),
    ("salesforce", "e", {}, "a\nb", None, "ordering_key holds the character U\\+000A"),
    ("salesforce", "e", {}, None, "k\u200f", "idempotency_key holds the character U\\+200F"),
    ("salesforce", "e", {}, None, "k" * 3000, "idempotency_key must be 1 to 200 characters"),
    ("salesforce", "e", {}, "", None, "ordering_key must be 1 to 200 characters"),
    ("salesforce", "e", {}, None, "", "idempotency_key must be 1 to 200 characters"),
    ("salesforce", "e", _nested(MAX_PAYLOAD_DEPTH + 1), None, None, "nested more than 32"),
    ("salesforce", "e", {"a": "x" * MAX_PAYLOAD_BYTES}, None, None, "more than 1 MiB"),
]


@pytest.mark.parametrize(
    ("destination", "event_type", "payload", "ordering_key", "key", "message"), REFUSED
)
def test_publish_contract_sql_refuses_with_a_hint(
    conn: psycopg.Connection[Any],
    destination: str,
    event_type: str,
    payload: dict[str, Any],
    ordering_key: str | None,
    key: str | None,
    message: str,
) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match=message) as caught:
        _sql_publish(conn, destination, event_type, Jsonb(payload), ordering_key, key)
    assert caught.value.diag.message_hint
    # The hostile value is never echoed whole into the error (and so into logs).
    primary = caught.value.diag.message_primary
    assert primary is not None
    assert len(primary) < 200


@pytest.mark.parametrize(
    ("destination", "event_type", "payload", "ordering_key", "key", "message"), REFUSED
)
def test_publish_contract_python_refuses_before_sql(
    conn: psycopg.Connection[Any],
    destination: str,
    event_type: str,
    payload: dict[str, Any],
    ordering_key: str | None,
    key: str | None,
    message: str,
) -> None:
    with pytest.raises(InvalidMessageError, match=message):
        outbox.publish(
            conn, destination, event_type, payload, ordering_key=ordering_key, idempotency_key=key
        )
    assert conn.info.transaction_status != psycopg.pq.TransactionStatus.INERROR
    assert _count(conn) == 0


def test_publish_contract_python_and_batch_refusal_from_sql_is_named(
    conn: psycopg.Connection[Any],
) -> None:
    """A rule only the database can check (the registry of destinations) still reaches Python
    as InvalidMessageError, naming the message's place in the batch and the fix."""
    good = OutgoingMessage("salesforce", "order.placed", {"n": 1})
    unknown = OutgoingMessage("nowhere", "order.placed", {"n": 2})
    with pytest.raises(InvalidMessageError, match=r"message 2: unknown destination \"nowhere\""):
        outbox.publish_many(conn, [good, unknown])
    conn.rollback()
    assert _count(conn) == 0


def test_publish_contract_limits_are_inclusive(conn: psycopg.Connection[Any]) -> None:
    deepest = _nested(MAX_PAYLOAD_DEPTH)
    longest = "k" * MAX_KEY_LENGTH
    first = _sql_publish(conn, "webhook", "e", Jsonb(deepest), longest, longest)
    second = outbox.publish(
        conn, "salesforce", "e" * 100, deepest, ordering_key=longest, idempotency_key=longest
    )
    rows = conn.execute(
        "SELECT id, payload = %s, length(idempotency_key) FROM outbox.messages ORDER BY id",
        (Jsonb(deepest),),
    ).fetchall()
    assert rows == [(first, True, MAX_KEY_LENGTH), (second, True, MAX_KEY_LENGTH)]


def test_publish_contract_printable_unicode_keys_are_kept(conn: psycopg.Connection[Any]) -> None:
    key = "bestellung:Müller-Ωmega-東京"
    message_id = outbox.publish(conn, "webhook", "e", {"k": key}, ordering_key=key)
    assert conn.execute(
        "SELECT ordering_key FROM outbox.messages WHERE id = %s", (message_id,)
    ).fetchone() == (key,)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (math.nan, "the number nan"),
        (math.inf, "the number inf"),
        (-math.inf, "the number -inf"),
        (Decimal("NaN"), "the amount NaN"),
        (Decimal("-Infinity"), "the amount -Infinity"),
        ("a\x00b", "NUL character"),
    ],
)
def test_publish_contract_python_refuses_what_json_would_change(
    conn: psycopg.Connection[Any], value: Any, message: str
) -> None:
    """orjson writes a float NaN as null; a Decimal NaN would travel as the text "NaN"."""
    with pytest.raises(InvalidMessageError, match=message):
        outbox.publish(conn, "webhook", "e", {"order": {"lines": [{"tax": value}]}})
    assert _count(conn) == 0


def test_publish_contract_python_refuses_unencodable_text(conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(InvalidMessageError, match="not JSON"):
        outbox.publish(conn, "webhook", "e", {"name": "\udc80"})
    with pytest.raises(InvalidMessageError, match="idempotency_key holds the character U\\+DC80"):
        outbox.publish(conn, "webhook", "e", {}, idempotency_key="k\udc80")


@pytest.mark.parametrize(
    "call",
    [
        lambda conn: outbox.publish(conn, 7, "e", {}),
        lambda conn: outbox.publish(conn, "webhook", None, {}),
        lambda conn: outbox.publish(conn, "webhook", "e", {}, ordering_key=12),
        lambda conn: outbox.publish(conn, "webhook", "e", {}, correlation_id="not-a-uuid"),
        lambda conn: outbox.publish(conn, "webhook", "e", None),
        lambda conn: outbox.publish_many(conn, "not a list"),
        lambda conn: outbox.publish_many(conn, [("webhook", "e", {})]),
    ],
)
def test_publish_contract_python_wrong_types_are_named(
    conn: psycopg.Connection[Any], call: Any
) -> None:
    with pytest.raises(InvalidMessageError):
        call(conn)
    assert _count(conn) == 0


def test_publish_batch_sql_returns_every_id_in_order(conn: psycopg.Connection[Any]) -> None:
    """publish_batch, as a storefront in any language may call it: one row per distinct key,
    and a key repeated inside the batch or published before returns the same message."""
    first = _sql_publish(conn, "webhook", "e", Jsonb({}), None, "k-0")
    keys = ["k-1", None, "k-1", "k-0"]
    batch = [
        {"destination": "webhook", "event_type": "e", "payload": {"n": n}}
        | ({"idempotency_key": key} if key else {})
        for n, key in enumerate(keys, start=1)
    ]
    rows = conn.execute(
        "SELECT id, idempotency_key FROM outbox.publish_batch(%s)", (Jsonb(batch),)
    ).fetchall()
    by_key = dict((key, message_id) for message_id, key in rows)
    assert len(rows) == len(by_key) == 3
    assert by_key["k-0"] == first
    stored = conn.execute("SELECT payload FROM outbox.messages WHERE id = %s", (by_key["k-1"],))
    assert stored.fetchone() == ({"n": 1},)  # the first of the two wins
    assert _count(conn) == 3


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ({"destination": "webhook"}, "messages must be a JSON array, got object"),
        ([1], "message 1 is not a JSON object"),
        ([{"destination": "webhook", "event_type": "e", "payload": []}], "message 1: payload"),
    ],
)
def test_publish_batch_sql_refuses_a_malformed_batch(
    conn: psycopg.Connection[Any], batch: Any, message: str
) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match=message) as caught:
        conn.execute("SELECT * FROM outbox.publish_batch(%s)", (Jsonb(batch),))
    assert caught.value.diag.message_hint


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE commerce.products SET price = 'NaN'",
        "INSERT INTO commerce.orders (order_number, customer_id, currency, subtotal, tax, total) "
        "VALUES ('SO-NaN', (SELECT id FROM commerce.customers), 'USD', 0, 'NaN', 'NaN')",
        "UPDATE commerce.order_lines SET tax = 'NaN'",
    ],
)
def test_money_columns_refuse_nan_over_sql(conn: psycopg.Connection[Any], statement: str) -> None:
    """numeric accepts NaN and NaN passed every CHECK the money columns had (it sorts above
    every number, and NaN = NaN): a storefront writing over SQL could store a NaN order."""
    conn.execute(
        "INSERT INTO commerce.products (sku, name, purchase_type, price, stock) "
        "VALUES ('WB-1', 'Workbook', 'physical', 30, 5)"
    )
    conn.execute("INSERT INTO commerce.customers (email, last_name) VALUES ('a@b.c', 'A')")
    conn.execute(
        "INSERT INTO commerce.orders (order_number, customer_id, currency, subtotal, total) "
        "SELECT 'SO-1', id, 'USD', 30, 30 FROM commerce.customers"
    )
    conn.execute(
        "INSERT INTO commerce.order_lines "
        "(order_id, line_number, product_id, quantity, unit_price) "
        "SELECT o.id, 1, p.id, 1, 30 FROM commerce.orders o, commerce.products p"
    )
    with pytest.raises(psycopg.errors.CheckViolation, match=r"is_a_number|are_numbers"):
        conn.execute(statement)
