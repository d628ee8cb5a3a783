"""The reference checkout: validation, stock and seats, and the messages an order implies."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from outbox.migrate import sqlalchemy_url
from outbox.shop import errors, place_order
from tests.fixtures.catalog import (
    customer_factory,
    line,
    order_factory,
    product_factory,
    session_factory,
)


def _written(conn: psycopg.Connection[Any]) -> tuple[int, int, int, int]:
    row = conn.execute(
        """
        SELECT (SELECT count(*) FROM commerce.orders), (SELECT count(*) FROM commerce.order_lines),
               (SELECT count(*) FROM outbox.messages), (SELECT count(*) FROM commerce.customers)
        """
    ).fetchone()
    assert row is not None
    return row


def test_place_order_all_four_types_publishes_what_the_order_implies(
    conn: psycopg.Connection[Any],
) -> None:
    book = product_factory(conn, "physical", stock=5)
    course = product_factory(conn, "digital_license", price="400.00", course_id=1002, term_days=30)
    workshop = product_factory(conn, "paid_event", price="150.00")
    webinar = product_factory(conn, "free_event")
    paid_session = session_factory(conn, workshop["id"], capacity=3)
    free_session = session_factory(conn, webinar["id"], capacity=100)
    order = order_factory(
        line(book, 2, tax=Decimal("6.00")),
        line(course, 25),
        line(workshop, 1, event_session_id=paid_session),
        line(webinar, 1, event_session_id=free_session),
        number="SO-1",
        customer=customer_factory(organisation="Analytical Clinic"),
    )
    placed = place_order(conn, order)
    conn.commit()

    assert placed.total == Decimal("60.00") + Decimal("6.00") + Decimal("10000.00") + Decimal(
        "150.00"
    )
    messages = conn.execute(
        "SELECT id, destination, event_type, ordering_key, idempotency_key, payload "
        "FROM outbox.messages ORDER BY id"
    ).fetchall()
    assert [m[0] for m in messages] == list(placed.message_ids)
    assert [(m[1], m[2], m[4]) for m in messages] == [
        ("salesforce", "order.placed", "order.placed:SO-1"),
        ("thinkific", "enrollment.requested", "enrollment.requested:SO-1:2"),
        ("salesforce", "event.registered", "event.registered:SO-1:3"),
        ("salesforce", "event.registered", "event.registered:SO-1:4"),
    ]
    placed_payload = messages[0][5]
    assert placed_payload["order"]["total"] == "10216.00"
    assert [ln["line_id"] for ln in placed_payload["lines"]] == [
        "SO-1-1",
        "SO-1-2",
        "SO-1-3",
        "SO-1-4",
    ]
    enrollment = messages[1][5]
    assert (enrollment["course_id"], enrollment["seats"]) == (1002, 25)
    assert enrollment["organisation"] == "Analytical Clinic"
    assert enrollment["expiry_date"] is not None
    assert messages[1][3] == f"enrollment:{enrollment['customer']['id']}:1002"
    assert (messages[2][5]["paid"], messages[3][5]["paid"]) == (True, False)
    # Every Salesforce message of the customer shares one ordering key, and carries the
    # profile version its snapshot of the customer was taken at.
    customer = placed_payload["customer"]
    assert {m[3] for m in messages if m[1] == "salesforce"} == {f"customer:{customer['id']}"}
    assert customer["version"] == 0
    stock = conn.execute(
        "SELECT stock FROM commerce.products WHERE id = %s", (book["id"],)
    ).fetchone()
    seats = conn.execute(
        "SELECT seats_taken FROM commerce.event_sessions WHERE id = %s", (paid_session,)
    ).fetchone()
    assert (stock, seats) == ((3,), (1,))


def test_place_order_free_event_only_registers_with_zero_total(
    conn: psycopg.Connection[Any],
) -> None:
    webinar = product_factory(conn, "free_event")
    session = session_factory(conn, webinar["id"])
    placed = place_order(
        conn, order_factory(line(webinar, 1, event_session_id=session), payment_method=None)
    )
    assert placed.total == Decimal("0.00")
    rows = conn.execute("SELECT event_type FROM outbox.messages ORDER BY id").fetchall()
    assert rows == [("order.placed",), ("event.registered",)]


def test_place_order_retried_checkout_publishes_nothing_new(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        book = product_factory(conn, stock=10)
        conn.commit()
        order = order_factory(line(book, 2), number="SO-RETRY")
        first = place_order(conn, order)
        conn.commit()
        again = place_order(conn, order)
        conn.commit()
        assert again.replayed
        assert (again.order_id, again.message_ids) == (first.order_id, first.message_ids)
        assert _written(conn)[:3] == (1, 1, 1)
        assert conn.execute("SELECT stock FROM commerce.products").fetchone() == (8,)


def test_place_order_keeps_a_message_published_under_its_key_before(
    conn: psycopg.Connection[Any],
) -> None:
    book = product_factory(conn, stock=10)
    course = product_factory(conn, "digital_license", course_id=1003)
    (earlier,) = conn.execute(
        "SELECT outbox.publish('salesforce', 'order.placed', '{\"by\": \"hand\"}',"
        " idempotency_key => 'order.placed:SO-EARLY')"
    ).fetchone() or (None,)
    placed = place_order(conn, order_factory(line(book, 1), line(course, 1), number="SO-EARLY"))
    conn.commit()
    rows = conn.execute(
        "SELECT id, event_type, payload ->> 'by' FROM outbox.messages ORDER BY id"
    ).fetchall()
    assert [(r[1], r[2]) for r in rows] == [
        ("order.placed", "hand"),
        ("enrollment.requested", None),
    ]
    assert placed.message_ids == (earlier, rows[1][0])
    assert conn.execute(
        "SELECT stock FROM commerce.products WHERE id = %s", [book["id"]]
    ).fetchone() == (9,)
    assert _written(conn)[:3] == (1, 2, 2)


def _refused(conn: psycopg.Connection[Any], order: Any, error: type[Exception], match: str) -> None:
    before = _written(conn)
    conn.execute("SELECT 1")  # the caller's transaction is open and must survive the refusal
    with pytest.raises(error, match=match):
        place_order(conn, order)
    assert _written(conn) == before
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS


def test_place_order_unknown_sku_names_the_line(conn: psycopg.Connection[Any]) -> None:
    book = product_factory(conn)
    order = order_factory(line(book), line(book, sku="NOPE-1"))
    _refused(conn, order, errors.UnknownSkuError, r"line 2 \(NOPE-1\): no active product")


@pytest.mark.parametrize("quantity", [0, -3])
def test_place_order_quantity_below_one_is_refused(
    conn: psycopg.Connection[Any], quantity: int
) -> None:
    book = product_factory(conn)
    _refused(conn, order_factory(line(book, quantity)), errors.InvalidQuantityError, "at least 1")


def test_place_order_price_differing_from_catalog_is_refused(conn: psycopg.Connection[Any]) -> None:
    book = product_factory(conn, price="30.00")
    order = order_factory(line(book, 1, unit_price=Decimal("25.00")))
    _refused(conn, order, errors.PriceMismatchError, "shows 25.00 but the catalog price is 30.00")


def test_place_order_out_of_stock_writes_nothing(conn: psycopg.Connection[Any]) -> None:
    plenty = product_factory(conn, stock=50)
    scarce = product_factory(conn, stock=5, safety_stock=2)
    order = order_factory(line(plenty, 1), line(scarce, 4))
    _refused(conn, order, errors.OutOfStockError, r"line 2 .*4 wanted but only 3 in stock")
    stocks = conn.execute("SELECT stock FROM commerce.products ORDER BY id").fetchall()
    assert stocks == [(50,), (5,)]


def test_place_order_same_sku_on_two_lines_counts_both(conn: psycopg.Connection[Any]) -> None:
    book = product_factory(conn, stock=3)
    _refused(conn, order_factory(line(book, 2), line(book, 2)), errors.OutOfStockError, "4 wanted")


def test_place_order_session_without_enough_seats_writes_nothing(
    conn: psycopg.Connection[Any],
) -> None:
    book = product_factory(conn, stock=10)
    workshop = product_factory(conn, "paid_event", price="150.00")
    session = session_factory(conn, workshop["id"], capacity=2)
    order = order_factory(line(book, 1), line(workshop, 3, event_session_id=session))
    _refused(conn, order, errors.SeatsUnavailableError, "has 2 seat\\(s\\) left, 3 wanted")
    assert conn.execute(
        "SELECT stock FROM commerce.products WHERE id = %s", (book["id"],)
    ).fetchone() == (10,)


def test_place_order_event_line_needs_its_own_session(conn: psycopg.Connection[Any]) -> None:
    workshop = product_factory(conn, "paid_event", price="150.00")
    other = product_factory(conn, "free_event")
    other_session = session_factory(conn, other["id"])
    _refused(
        conn,
        order_factory(line(workshop, 1)),
        errors.InvalidSessionError,
        "needs an event_session_id",
    )
    _refused(
        conn,
        order_factory(line(workshop, 1, event_session_id=other_session)),
        errors.InvalidSessionError,
        "belongs to another product",
    )
    _refused(
        conn,
        order_factory(line(workshop, 1, event_session_id=999999)),
        errors.InvalidSessionError,
        "no event session 999999",
    )


def test_place_order_empty_cart_and_bad_customer_are_refused(conn: psycopg.Connection[Any]) -> None:
    book = product_factory(conn)
    _refused(conn, order_factory(), errors.EmptyCartError, "no lines")
    bad_email = order_factory(line(book), customer=customer_factory(email="not-an-address"))
    _refused(conn, bad_email, errors.InvalidCustomerError, "is not an address")
    no_name = order_factory(line(book), customer=customer_factory(last_name=" "))
    _refused(conn, no_name, errors.InvalidCustomerError, "last_name is empty")


def test_place_order_matches_customer_email_case_insensitively(
    conn: psycopg.Connection[Any],
) -> None:
    book = product_factory(conn)
    guest = customer_factory(email="Guest@Example.org", guest=True)
    first = place_order(conn, order_factory(line(book), customer=guest))
    registered = customer_factory(email="guest@example.ORG", guest=False)
    second = place_order(conn, order_factory(line(book), customer=registered))
    assert first.customer_id == second.customer_id
    row = conn.execute("SELECT count(*), bool_and(is_guest) FROM commerce.customers").fetchone()
    assert row == (1, False)


def test_place_order_that_renames_the_customer_counts_as_a_profile_change(
    conn: psycopg.Connection[Any],
) -> None:
    book = product_factory(conn)
    for first_name in ("Ada", "Ada", "Augusta"):
        buyer = customer_factory(email="ada@example.org", first_name=first_name, last_name="L")
        place_order(conn, order_factory(line(book), customer=buyer))
    versions = conn.execute(
        "SELECT payload #>> '{customer,first_name}', (payload #>> '{customer,version}')::int"
        " FROM outbox.messages WHERE event_type = 'order.placed' ORDER BY id"
    ).fetchall()
    assert versions == [("Ada", 0), ("Ada", 0), ("Augusta", 1)]


def test_place_order_through_sqlalchemy_session(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        book = product_factory(conn)
        conn.commit()
    engine = create_engine(sqlalchemy_url(db_url))
    try:
        with Session(engine) as session, session.begin():
            placed = place_order(session, order_factory(line(book), number="SO-SA"))
    finally:
        engine.dispose()
    with psycopg.connect(db_url) as conn:
        assert _written(conn)[:3] == (1, 1, 1)
        assert placed.order_number == "SO-SA"


def test_place_order_fifty_concurrent_checkouts_never_oversell(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        workshop = product_factory(conn, "paid_event", price="150.00")
        session = session_factory(conn, workshop["id"], capacity=10)
        conn.commit()
    start = threading.Barrier(50)
    outcomes: list[str] = []

    def checkout(n: int) -> None:
        with psycopg.connect(db_url) as conn:
            start.wait()
            try:
                place_order(
                    conn,
                    order_factory(line(workshop, 1, event_session_id=session), number=f"R-{n}"),
                )
                conn.commit()
                outcomes.append("ok")
            except errors.SeatsUnavailableError:
                conn.rollback()
                outcomes.append("full")

    threads = [threading.Thread(target=checkout, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes).count("ok") == 10
    assert len(outcomes) == 50
    with psycopg.connect(db_url) as conn:
        seats = conn.execute("SELECT seats_taken FROM commerce.event_sessions").fetchone()
        registrations = conn.execute(
            "SELECT count(*) FROM outbox.messages WHERE event_type = 'event.registered'"
        ).fetchone()
    assert seats == (10,)
    assert registrations == (10,)
