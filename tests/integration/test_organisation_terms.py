"""The reference checkout and an organisation's terms from Salesforce: tier prices for its
buyers, and invoice orders held within its credit limit, refused with nothing written."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg
import pytest

from outbox.shop import errors, place_order
from tests.fixtures.catalog import customer_factory, line, order_factory, product_factory


def organisation(conn: psycopg.Connection[Any], discount: str | None, limit: str | None) -> None:
    conn.execute(
        "INSERT INTO commerce.organisations (key, name, price_tier, discount_percent, "
        "credit_limit) VALUES ('northgate clinic', 'Northgate Clinic', 'Gold', %s, %s)",
        (discount, limit),
    )


def buyer(**overrides: Any) -> Any:
    return customer_factory(organisation=" Northgate Clinic", **overrides)


def written(conn: psycopg.Connection[Any]) -> tuple[Any, ...]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM commerce.orders), (SELECT count(*) FROM outbox.messages), "
        "(SELECT coalesce(sum(stock), 0) FROM commerce.products)"
    ).fetchone()
    assert row is not None
    return tuple(row)


def test_organisation_terms_buyer_pays_the_tier_price(conn: psycopg.Connection[Any]) -> None:
    book = product_factory(conn, price="30.00")
    organisation(conn, "12.5", None)
    stale = order_factory(line(book, 2), customer=buyer())
    with pytest.raises(
        errors.PriceMismatchError, match=r"shows 30\.00 but the catalog price is 26\.25"
    ):
        place_order(conn, stale)
    placed = place_order(
        conn, order_factory(line(book, 2, unit_price=Decimal("26.25")), customer=buyer())
    )
    assert placed.total == Decimal("52.50")
    # A private buyer still pays the list price.
    assert place_order(conn, order_factory(line(book, 1))).total == Decimal("30.00")


def test_organisation_terms_invoice_order_beyond_the_credit_is_refused_writing_nothing(
    conn: psycopg.Connection[Any],
) -> None:
    book = product_factory(conn, price="100.00", stock=50)
    organisation(conn, None, "250.00")
    place_order(conn, order_factory(line(book, 2), customer=buyer(), payment_method="invoice"))
    before = written(conn)
    too_much = order_factory(line(book, 1), customer=buyer(), payment_method="invoice")
    conn.execute("SELECT 1")
    with pytest.raises(errors.CreditLimitExceededError) as refused:
        place_order(conn, too_much)
    assert (refused.value.owed, refused.value.total, refused.value.limit) == (
        Decimal("200.00"), Decimal("100.00"), Decimal("250.00")
    )  # fmt: skip
    assert "'northgate clinic' owes 200.00" in str(refused.value)
    assert written(conn) == before
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    # Paid by card, or once the earlier invoice is paid, the order goes through.
    place_order(conn, order_factory(line(book, 1), customer=buyer(), payment_method="card"))
    conn.execute("UPDATE commerce.orders SET amount_paid = total WHERE payment_method = 'invoice'")
    place_order(conn, order_factory(line(book, 1), customer=buyer(), payment_method="invoice"))


def test_organisation_terms_without_a_limit_or_a_row_change_nothing(
    conn: psycopg.Connection[Any],
) -> None:
    book = product_factory(conn, price="100.00", stock=50)
    placed = place_order(
        conn, order_factory(line(book, 5), customer=buyer(), payment_method="invoice")
    )
    assert placed.total == Decimal("500.00")
    organisation(conn, None, None)
    place_order(conn, order_factory(line(book, 5), customer=buyer(), payment_method="invoice"))
