"""The storefront API speaks in named errors: a race for one order number ends in a replay, and a
wrong-type input to any public call raises an exception the README lists, with nothing written."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest

import outbox
import outbox.shop
from outbox.errors import UnsupportedConnectionError
from outbox.shop import CartLine, Customer, OrderRequest, errors, place_order
from tests.fixtures.catalog import customer_factory, line, order_factory, product_factory


def _written(conn: psycopg.Connection[Any]) -> tuple[int, ...]:
    row = conn.execute(
        """
        SELECT (SELECT count(*) FROM commerce.orders), (SELECT count(*) FROM commerce.order_lines),
               (SELECT count(*) FROM outbox.messages), (SELECT count(*) FROM commerce.customers),
               (SELECT count(*) FROM commerce.payments), (SELECT count(*) FROM commerce.refunds),
               (SELECT count(*) FROM commerce.shipments),
               (SELECT sum(stock) FROM commerce.products),
               (SELECT string_agg(status::text, ',') FROM commerce.orders)
        """
    ).fetchone()
    assert row is not None
    return tuple(row)


def _wait_until_blocked(db_url: str, application_name: str) -> None:
    """Wait, with a bound, until the named connection waits on a lock."""
    deadline = time.monotonic() + 30
    with psycopg.connect(db_url, autocommit=True) as watcher:
        while time.monotonic() < deadline:
            row = watcher.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE application_name = %s",
                (application_name,),
            ).fetchone()
            if row is not None and row[0] == "Lock":
                return
            time.sleep(0.01)
    raise AssertionError(f"{application_name} never waited on a lock")


@pytest.mark.parametrize("with_stock", [True, False])
def test_place_order_concurrent_same_number_loser_gets_the_order_replayed(
    db_url: str, with_stock: bool
) -> None:
    """The loser waits on the winner (on the stock row, or on the order number's unique index
    for a cart that takes no stock) and, once it commits, gets that order with replayed=True:
    no UniqueViolation, and the stock is taken once."""
    with psycopg.connect(db_url) as conn:
        product = product_factory(conn, "physical" if with_stock else "digital_license", stock=10)
        conn.commit()
    order = order_factory(line(product, 2), number="SO-RACE")
    outcome: dict[str, Any] = {}

    def loser() -> None:
        with psycopg.connect(db_url, application_name="loser") as conn:
            try:
                outcome["placed"] = place_order(conn, order)
                conn.commit()
            except BaseException as exc:  # reported to the test thread below
                outcome["error"] = exc

    with psycopg.connect(db_url) as winner:
        first = place_order(winner, order)
        thread = threading.Thread(target=loser)
        thread.start()
        _wait_until_blocked(db_url, "loser")
        winner.commit()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome.get("error")
    placed = outcome["placed"]
    assert placed.replayed
    assert (placed.order_id, placed.message_ids) == (first.order_id, first.message_ids)
    with psycopg.connect(db_url) as conn:
        written = _written(conn)
    assert written[:4] == (1, 1, len(first.message_ids), 1)
    if with_stock:
        assert written[7] == 8


def test_place_order_race_seen_from_repeatable_read_is_named(db_url: str) -> None:
    """A transaction that cannot see the winner's order cannot return it: it is told to retry.
    (Another customer here, so the loser waits on the order number itself.)"""
    with psycopg.connect(db_url) as conn:
        product = product_factory(conn, "digital_license")
        conn.commit()
    order = order_factory(line(product), number="SO-RR")
    outcome: dict[str, Any] = {}

    def loser() -> None:
        with psycopg.connect(db_url, application_name="rr-loser") as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            try:
                place_order(conn, order_factory(line(product), number="SO-RR"))
            except BaseException as exc:  # reported to the test thread below
                outcome["error"] = exc
            conn.rollback()

    with psycopg.connect(db_url) as winner:
        place_order(winner, order)
        thread = threading.Thread(target=loser)
        thread.start()
        _wait_until_blocked(db_url, "rr-loser")
        winner.commit()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert isinstance(outcome.get("error"), errors.OrderNumberInUseError)


def _good(product: dict[str, Any]) -> dict[str, Any]:
    return {
        "order_number": "SO-T1",
        "customer": customer_factory(),
        "lines": (line(product, 1),),
        "payment_method": "card",
    }


BAD_ORDERS: list[tuple[str, dict[str, Any], type[errors.CheckoutError]]] = [
    ("order number not text", {"order_number": 1001}, errors.InvalidOrderError),
    ("order number with U+202E", {"order_number": "SO-\u202e1"}, errors.InvalidOrderError),
    ("order number too long", {"order_number": "S" * 65}, errors.InvalidOrderError),
    ("order number with NUL", {"order_number": "SO\x001"}, errors.InvalidOrderError),
    ("customer is a dict", {"customer": {"email": "a@b.c"}}, errors.InvalidCustomerError),
    (
        "e-mail not text",
        {"customer": Customer(email=None, last_name="X")},  # type: ignore[arg-type]
        errors.InvalidCustomerError,
    ),
    ("name with NUL", {"customer": Customer("a@b.c", "Love\x00lace")}, errors.InvalidCustomerError),
    (
        "name with a surrogate",
        {"customer": Customer("a@b.c", "\udc80")},
        errors.InvalidCustomerError,
    ),
    (
        "consent not bool",
        {"customer": Customer("a@b.c", "X", marketing_consent="yes")},  # type: ignore[arg-type]
        errors.InvalidCustomerError,
    ),
    ("lines is None", {"lines": None}, errors.InvalidOrderError),
    ("lines hold a dict", {"lines": ({"sku": "X"},)}, errors.InvalidOrderError),
    ("currency lower case", {"currency": "usd"}, errors.InvalidOrderError),
    ("payment method not text", {"payment_method": 5}, errors.InvalidOrderError),
    ("placed_at naive", {"placed_at": datetime(2026, 1, 1)}, errors.InvalidOrderError),
    ("placed_at text", {"placed_at": "2026-01-01"}, errors.InvalidOrderError),
    ("correlation id text", {"correlation_id": str(uuid.uuid4())}, errors.InvalidOrderError),
]


def _bad_line(product: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    values = {"sku": product["sku"], "quantity": 1, "unit_price": product["price"], **overrides}
    return {"lines": (CartLine(**values),)}


BAD_LINES: list[tuple[str, dict[str, Any], type[errors.CheckoutError]]] = [
    ("quantity text", {"quantity": "2"}, errors.CartLineError),
    ("quantity float", {"quantity": 2.0}, errors.CartLineError),
    ("quantity bool", {"quantity": True}, errors.CartLineError),
    ("quantity beyond int4", {"quantity": 2**40}, errors.CartLineError),
    ("price float", {"unit_price": 30.0}, errors.CartLineError),
    ("price NaN", {"unit_price": Decimal("NaN")}, errors.CartLineError),
    ("tax NaN", {"tax": Decimal("NaN")}, errors.CartLineError),
    ("tax sNaN", {"tax": Decimal("sNaN")}, errors.CartLineError),
    ("tax Infinity", {"tax": Decimal("Infinity")}, errors.CartLineError),
    ("tax negative", {"tax": Decimal("-1")}, errors.CartLineError),
    ("tax beyond numeric(12,2)", {"tax": Decimal("1e12")}, errors.CartLineError),
    ("tax in tenths of cents", {"tax": Decimal("0.001")}, errors.CartLineError),
    ("sku not text", {"sku": 42}, errors.CartLineError),
    ("session id text", {"event_session_id": "7"}, errors.InvalidSessionError),
    ("session id beyond bigint", {"event_session_id": 2**64}, errors.InvalidSessionError),
]


@pytest.mark.parametrize(
    ("case", "overrides", "error"),
    [(case, overrides, error) for case, overrides, error in BAD_ORDERS]
    + [(case, {"line": overrides}, error) for case, overrides, error in BAD_LINES],
)
def test_place_order_wrong_input_is_a_named_error_with_nothing_written(
    conn: psycopg.Connection[Any],
    case: str,
    overrides: dict[str, Any],
    error: type[errors.CheckoutError],
) -> None:
    product = product_factory(conn, "physical", stock=10)
    conn.commit()
    before = _written(conn)
    values = _good(product)
    values.update(_bad_line(product, **overrides["line"]) if "line" in overrides else overrides)
    with pytest.raises(error):
        place_order(conn, OrderRequest(**values))
    assert conn.info.transaction_status != psycopg.pq.TransactionStatus.INERROR, case
    assert _written(conn) == before, case


def test_place_order_not_an_order_request_is_named(conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(errors.InvalidOrderError, match=r"expected an outbox\.shop\.OrderRequest"):
        place_order(conn, {"order_number": "SO-1"})  # type: ignore[arg-type]
    with pytest.raises(UnsupportedConnectionError):
        place_order("postgresql://", order_factory(CartLine("X-1", 1, Decimal("1.00"))))


@pytest.fixture
def placed(conn: psycopg.Connection[Any]) -> str:
    book = product_factory(conn, "physical", stock=10)
    place_order(conn, order_factory(line(book, 2), number="SO-A1"))
    conn.commit()
    return "SO-A1"


AFTERSALE_CALLS: list[tuple[str, Any]] = [
    ("payment: number not text", lambda c, n: outbox.shop.record_payment(c, 7, "card", "60", "pi")),
    ("payment: amount list", lambda c, n: outbox.shop.record_payment(c, n, "card", [60], "pi")),
    (
        "payment: amount NaN",
        lambda c, n: outbox.shop.record_payment(c, n, "card", float("nan"), "pi"),
    ),
    ("payment: amount huge", lambda c, n: outbox.shop.record_payment(c, n, "card", "1e20", "pi")),
    ("payment: reference None", lambda c, n: outbox.shop.record_payment(c, n, "card", "60", None)),
    (
        "payment: reference U+202E",
        lambda c, n: outbox.shop.record_payment(c, n, "card", "60", "p\u202e"),
    ),
    (
        "payment: reference too long",
        lambda c, n: outbox.shop.record_payment(c, n, "card", "60", "p" * 101),
    ),
    (
        "payment: at text",
        lambda c, n: outbox.shop.record_payment(c, n, "card", "60", "pi", at="now"),
    ),
    (
        "shipment: line text",
        lambda c, n: outbox.shop.record_shipment(c, n, "P1", {"1": 1}, "DPD", "1"),
    ),
    (
        "shipment: qty text",
        lambda c, n: outbox.shop.record_shipment(c, n, "P1", {1: "1"}, "DPD", "1"),
    ),
    (
        "shipment: lines list",
        lambda c, n: outbox.shop.record_shipment(c, n, "P1", [(1, 1)], "DPD", "1"),
    ),
    (
        "shipment: line huge",
        lambda c, n: outbox.shop.record_shipment(c, n, "P1", {2**40: 1}, "D", "1"),
    ),
    (
        "shipment: carrier NUL",
        lambda c, n: outbox.shop.record_shipment(c, n, "P1", {1: 1}, "D\x00", "1"),
    ),
    ("refund: lines text", lambda c, n: outbox.shop.refund(c, n, "R1", "10", lines="1")),
    ("refund: amount bool", lambda c, n: outbox.shop.refund(c, n, "R1", True)),
    ("cancel: reason int", lambda c, n: outbox.shop.cancel_order(c, n, 5)),
    ("cancel: number None", lambda c, n: outbox.shop.cancel_order(c, None, "why")),
    ("profile: e-mail int", lambda c, n: outbox.shop.update_customer(c, 5, first_name="A")),
    ("profile: name int", lambda c, n: outbox.shop.update_customer(c, "a@b.c", first_name=5)),
    ("profile: name NUL", lambda c, n: outbox.shop.update_customer(c, "a@b.c", first_name="A\x00")),
    ("profile: address str", lambda c, n: outbox.shop.update_customer(c, "a@b.c", address="Leeds")),
    (
        "profile: at text",
        lambda c, n: outbox.shop.update_customer(c, "a@b.c", at="now", locale="en"),
    ),
]


@pytest.mark.parametrize(("case", "call"), AFTERSALE_CALLS)
def test_aftersale_wrong_input_is_a_named_error_with_nothing_written(
    conn: psycopg.Connection[Any], placed: str, case: str, call: Any
) -> None:
    before = _written(conn)
    with pytest.raises(errors.AftersaleError):
        call(conn, placed)
    assert conn.info.transaction_status != psycopg.pq.TransactionStatus.INERROR, case
    assert _written(conn) == before, case
