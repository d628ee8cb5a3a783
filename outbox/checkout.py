"""The reference checkout: validate the cart, write the order, take stock and seats, publish.

Everything happens in the caller's transaction under a savepoint: a refused cart raises a
specific error naming the line and leaves nothing written, and a successful one is committed (or
rolled back) by the caller together with the messages it published.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import class_row

from outbox import errors
from outbox.connection import ConnectionLike, psycopg_connection
from outbox.events import (
    CustomerRow,
    OrderFacts,
    PricedLine,
    ProductRow,
    SessionInfo,
    order_messages,
)
from outbox.models import CartLine, OrderRequest, PlacedOrder, PurchaseType
from outbox.publish import publish_many
from outbox.queries import query


def place_order(
    conn_or_session: ConnectionLike, order: OrderRequest, *, publish: bool = True
) -> PlacedOrder:
    """Place ``order`` in the caller's transaction and publish what it implies.

    A retried checkout (same order number) returns the order already written, with
    ``replayed=True``, and publishes nothing new. ``publish=False`` exists to measure what the
    outbox adds to a checkout; a real storefront never turns it off.
    """
    _check_cart(order)
    conn = psycopg_connection(conn_or_session)
    conn.execute(query("savepoint"))
    try:
        placed = _existing(conn, order.order_number) or _place(conn, order, publish)
    except BaseException:
        conn.execute(query("rollback_savepoint"))
        conn.execute(query("release_savepoint"))
        raise
    conn.execute(query("release_savepoint"))
    return placed


def _check_cart(order: OrderRequest) -> None:
    customer = order.customer
    if "@" not in customer.email.strip(" @") or any(c.isspace() for c in customer.email.strip()):
        raise errors.InvalidCustomerError(
            f"e-mail {customer.email!r} is not an address; ask the shopper to correct it"
        )
    if not customer.last_name.strip():
        raise errors.InvalidCustomerError(
            "last_name is empty; Salesforce needs a family name for every contact"
        )
    lines = order.lines
    if not lines:
        raise errors.EmptyCartError()
    for number, line in enumerate(lines, start=1):
        if line.quantity <= 0:
            raise errors.InvalidQuantityError(number, line.sku, line.quantity)


def _existing(conn: psycopg.Connection[Any], order_number: str) -> PlacedOrder | None:
    row = conn.execute(query("find_order"), {"order_number": order_number}).fetchone()
    if row is None:
        return None
    order_id, customer_id, total, message_ids = row
    return PlacedOrder(
        order_id, order_number, customer_id, total, tuple(message_ids), replayed=True
    )


def _place(conn: psycopg.Connection[Any], order: OrderRequest, publish: bool) -> PlacedOrder:
    products = _products(conn, order)
    lines = [
        PricedLine(n, products[line.sku], line.quantity, line.unit_price, line.tax, None)
        for n, line in enumerate(order.lines, start=1)
    ]
    _take_stock(conn, order.lines, lines)
    lines = _take_seats(conn, order.lines, lines)
    customer = _upsert_customer(conn, order)
    subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))
    tax = sum((line.tax for line in lines), Decimal("0"))
    row = conn.execute(
        query("insert_order"),
        {
            "order_number": order.order_number,
            "customer_id": customer.id,
            "currency": order.currency,
            "subtotal": subtotal,
            "tax": tax,
            "total": subtotal + tax,
            "payment_method": order.payment_method,
            "placed_at": order.placed_at,
            "correlation_id": order.correlation_id,
        },
    ).fetchone()
    assert row is not None  # INSERT ... RETURNING always returns its row
    order_id, placed_at = row
    _insert_lines(conn, order_id, lines)
    facts = OrderFacts(
        order.order_number,
        order.currency,
        subtotal,
        tax,
        subtotal + tax,
        order.payment_method,
        placed_at,
        order.correlation_id,
    )
    message_ids = publish_many(conn, order_messages(facts, customer, lines)) if publish else []
    return PlacedOrder(
        order_id, order.order_number, customer.id, subtotal + tax, tuple(message_ids)
    )


def _products(conn: psycopg.Connection[Any], order: OrderRequest) -> dict[str, ProductRow]:
    skus = sorted({line.sku for line in order.lines})
    with conn.cursor(row_factory=class_row(ProductRow)) as cursor:
        rows = cursor.execute(query("products_by_sku"), {"skus": skus}).fetchall()
    products = {row.sku: _typed(row) for row in rows}
    for number, line in enumerate(order.lines, start=1):
        product = products.get(line.sku)
        if product is None:
            raise errors.UnknownSkuError(number, line.sku)
        if product.currency != order.currency:
            raise errors.CurrencyMismatchError(number, line.sku, order.currency, product.currency)
        if line.unit_price != product.price:
            raise errors.PriceMismatchError(number, line.sku, line.unit_price, product.price)
        wants_session = product.purchase_type.is_event
        if wants_session and line.event_session_id is None:
            raise errors.InvalidSessionError(
                number, line.sku, "an event line needs an event_session_id"
            )
        if not wants_session and line.event_session_id is not None:
            raise errors.InvalidSessionError(
                number,
                line.sku,
                f"a {product.purchase_type} product has no sessions; drop event_session_id",
            )
    return products


def _typed(row: ProductRow) -> ProductRow:
    """The row factory hands the enum over as text; make it the StrEnum the code compares."""
    return replace(row, purchase_type=PurchaseType(row.purchase_type))


def _take_stock(
    conn: psycopg.Connection[Any], cart: Sequence[CartLine], lines: Sequence[PricedLine]
) -> None:
    wanted: Counter[int] = Counter()
    for line in lines:
        if line.product.purchase_type is PurchaseType.PHYSICAL:
            wanted[line.product.id] += line.quantity
    if not wanted:
        return
    ids = sorted(wanted)
    params = {"product_ids": ids, "quantities": [wanted[i] for i in ids]}
    taken = {row[0] for row in conn.execute(query("take_stock"), params)}
    if len(taken) == len(ids):
        return
    available = dict(conn.execute(query("stock_left"), {"product_ids": ids}).fetchall())
    for line in lines:
        if line.product.id in wanted and line.product.id not in taken:
            raise errors.OutOfStockError(
                line.line_number,
                line.product.sku,
                wanted[line.product.id],
                available.get(line.product.id, 0),
            )


def _take_seats(
    conn: psycopg.Connection[Any], cart: Sequence[CartLine], lines: list[PricedLine]
) -> list[PricedLine]:
    wanted: Counter[tuple[int, int]] = Counter()
    for line, item in zip(lines, cart, strict=True):
        if item.event_session_id is not None:
            wanted[(item.event_session_id, line.product.id)] += line.quantity
    if not wanted:
        return lines
    keys = sorted(wanted)
    params = {
        "session_ids": [k[0] for k in keys],
        "product_ids": [k[1] for k in keys],
        "seats": [wanted[k] for k in keys],
    }
    sessions = {
        row[0]: SessionInfo(*row) for row in conn.execute(query("take_seats"), params).fetchall()
    }
    if len(sessions) < len(keys):
        _explain_seats(conn, cart, lines, wanted, sessions)
    return [
        PricedLine(
            line.line_number,
            line.product,
            line.quantity,
            line.unit_price,
            line.tax,
            sessions[item.event_session_id] if item.event_session_id is not None else None,
        )
        for line, item in zip(lines, cart, strict=True)
    ]


def _explain_seats(
    conn: psycopg.Connection[Any],
    cart: Sequence[CartLine],
    lines: Sequence[PricedLine],
    wanted: Counter[tuple[int, int]],
    taken: dict[int, SessionInfo],
) -> None:
    ids = sorted({key[0] for key in wanted})
    state = {row[0]: row[1:] for row in conn.execute(query("sessions_state"), {"session_ids": ids})}
    for line, item in zip(lines, cart, strict=True):
        session_id = item.event_session_id
        if session_id is None or session_id in taken:
            continue
        sku = line.product.sku
        if session_id not in state:
            raise errors.InvalidSessionError(
                line.line_number, sku, f"no event session {session_id}"
            )
        product_id, left = state[session_id]
        if product_id != line.product.id:
            raise errors.InvalidSessionError(
                line.line_number, sku, f"event session {session_id} belongs to another product"
            )
        raise errors.SeatsUnavailableError(
            line.line_number, sku, session_id, wanted[(session_id, line.product.id)], left
        )
    raise AssertionError("a seat allocation failed without a line to blame")  # pragma: no cover


def _upsert_customer(conn: psycopg.Connection[Any], order: OrderRequest) -> CustomerRow:
    customer = order.customer
    params = {
        "email": customer.email.strip(),
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "organisation": customer.organisation,
        "locale": customer.locale,
        "marketing_consent": customer.marketing_consent,
        "is_guest": customer.guest,
    }
    with conn.cursor(row_factory=class_row(CustomerRow)) as cursor:
        row = cursor.execute(query("upsert_customer"), params).fetchone()
    assert row is not None
    return row


def _insert_lines(
    conn: psycopg.Connection[Any], order_id: int, lines: Sequence[PricedLine]
) -> None:
    conn.execute(
        query("insert_lines"),
        {
            "order_id": order_id,
            "line_numbers": [line.line_number for line in lines],
            "product_ids": [line.product.id for line in lines],
            "quantities": [line.quantity for line in lines],
            "unit_prices": [line.unit_price for line in lines],
            "taxes": [line.tax for line in lines],
            "session_ids": [line.session.id if line.session else None for line in lines],
        },
    )
