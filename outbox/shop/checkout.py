"""The reference checkout: validate the cart, write the order, take stock and seats, publish.

Everything happens in the caller's transaction under a savepoint: a refused cart raises a
specific error naming the line and leaves nothing written, and a successful one is committed (or
rolled back) by the caller together with the messages it published.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import class_row

from outbox.connection import ConnectionLike, psycopg_connection, undo_savepoint
from outbox.publish import message_batch, message_ids
from outbox.queries import query
from outbox.shop import errors
from outbox.shop.events import (
    CustomerRow,
    OrderFacts,
    PricedLine,
    ProductRow,
    SessionInfo,
    order_messages,
)
from outbox.shop.models import CartLine, OrderRequest, PlacedOrder, PurchaseType
from outbox.shop.order_request import check_order
from outbox.shop.organisation_terms import OrganisationTerms, check_credit, organisation_terms


def place_order(
    conn_or_session: ConnectionLike, order: OrderRequest, *, publish: bool = True
) -> PlacedOrder:
    """Place ``order`` in the caller's transaction and publish what it implies.

    A retried checkout (same order number) returns the order already written, with
    ``replayed=True``, and publishes nothing new. ``publish=False`` exists to measure what the
    outbox adds to a checkout; a real storefront never turns it off.

    Statements that do not depend on each other's results travel together in a pipeline, so a
    checkout costs four round trips to the server whatever the size of the cart.
    """
    check_order(order)
    conn = psycopg_connection(conn_or_session)
    try:
        with conn.pipeline():
            conn.execute(query("savepoint"))
            found = conn.execute(query("find_order"), {"order_number": order.order_number})
        existing = found.fetchone()
        if existing is None:
            try:
                return _place(conn, order, publish)
            except psycopg.errors.UniqueViolation as exc:
                if exc.diag.constraint_name != "orders_order_number_key":
                    raise
            # A concurrent checkout placed this order number first and committed while this
            # one waited on it: the order is the same, so this call is its retry.
            with conn.pipeline():
                conn.execute(query("rollback_savepoint"))
                found = conn.execute(query("find_order"), {"order_number": order.order_number})
            existing = found.fetchone()
            if existing is None:
                raise errors.OrderNumberInUseError(order.order_number)
        conn.execute(query("release_savepoint"))
        order_id, customer_id, total, ids = existing
        return PlacedOrder(order_id, order.order_number, customer_id, total, tuple(ids), True)
    except psycopg.errors.DataError as exc:
        undo_savepoint(conn, query("rollback_savepoint"), query("release_savepoint"))
        raise errors.InvalidOrderError(
            f"order {order.order_number!r} cannot be stored: {exc.diag.message_primary}"
        ) from None
    except psycopg.errors.InvalidParameterValue as exc:
        undo_savepoint(conn, query("rollback_savepoint"), query("release_savepoint"))
        raise errors.InvalidOrderError(
            f"order {order.order_number!r} cannot be published: {exc.diag.message_primary} "
            f"({exc.diag.message_hint})"
        ) from None
    except BaseException:
        undo_savepoint(conn, query("rollback_savepoint"), query("release_savepoint"))
        raise


def _place(conn: psycopg.Connection[Any], order: OrderRequest, publish: bool) -> PlacedOrder:
    terms = organisation_terms(conn, order.customer.organisation)
    products = _products(conn, order, terms)
    lines = [
        PricedLine(n, products[line.sku], line.quantity, line.unit_price, line.tax, None)
        for n, line in enumerate(order.lines, start=1)
    ]
    stock, seats = _stock_request(lines), _seat_request(order.lines, lines)
    with conn.pipeline():
        taken_stock = (
            conn.execute(query("take_stock"), {**stock, "order_number": order.order_number})
            if stock
            else None
        )
        taken_seats = conn.execute(query("take_seats"), seats) if seats else None
        customer_cursor = conn.cursor(row_factory=class_row(CustomerRow))
        customer_cursor.execute(query("upsert_customer"), _customer_params(order))
    if taken_stock is not None:
        _check_stock(conn, lines, stock, {row[0] for row in taken_stock.fetchall()})
    if taken_seats is not None:
        sessions = {row[0]: SessionInfo(*row) for row in taken_seats.fetchall()}
        lines = _with_sessions(conn, order.lines, lines, seats, sessions)
    customer = customer_cursor.fetchone()
    customer_cursor.close()
    assert customer is not None  # an upsert always returns its row
    publishing = query("publish_many") if publish else None
    return _write(conn, order, customer, lines, publishing, terms)


def _write(
    conn: psycopg.Connection[Any],
    order: OrderRequest,
    customer: CustomerRow,
    lines: list[PricedLine],
    publish: str | None,
    terms: OrganisationTerms | None = None,
) -> PlacedOrder:
    """Write the order and its lines, and publish with the ``publish`` statement (None: off)."""
    subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))
    tax = sum((line.tax for line in lines), Decimal("0"))
    check_credit(conn, terms, order.order_number, order.payment_method, subtotal + tax)
    facts = OrderFacts(
        order.order_number,
        order.currency,
        subtotal,
        tax,
        subtotal + tax,
        order.payment_method,
        order.placed_at or datetime.now(UTC),
        order.correlation_id,
    )
    with conn.pipeline():
        inserted_order = conn.execute(query("insert_order"), _order_params(facts, customer))
        conn.execute(query("insert_lines"), _line_params(order.order_number, lines))
        # The messages are built while the server writes the order: each statement of a
        # pipeline is on its way as soon as it is queued, so this work costs no wall time.
        messages = order_messages(facts, customer, lines) if publish else None
        batch = message_batch(messages, built=True) if messages else None
        inserted = conn.execute(publish, batch.params) if publish and batch else None
        conn.execute(query("release_savepoint"))
    row = inserted_order.fetchone()
    assert row is not None  # INSERT ... RETURNING always returns its row
    ids = message_ids(inserted.fetchall(), batch) if inserted and batch else []
    return PlacedOrder(row[0], order.order_number, customer.id, facts.total, tuple(ids))


def _products(
    conn: psycopg.Connection[Any], order: OrderRequest, terms: OrganisationTerms | None = None
) -> dict[str, ProductRow]:
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
        price = terms.price(product.price) if terms else product.price
        if line.unit_price != price:
            raise errors.PriceMismatchError(number, line.sku, line.unit_price, price)
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


def _stock_request(lines: Sequence[PricedLine]) -> dict[str, list[int]]:
    """Units wanted per physical product, summed over lines, in id (lock) order."""
    wanted: Counter[int] = Counter()
    for line in lines:
        if line.product.purchase_type is PurchaseType.PHYSICAL:
            wanted[line.product.id] += line.quantity
    ids = sorted(wanted)
    return {"product_ids": ids, "quantities": [wanted[i] for i in ids]} if ids else {}


def _check_stock(
    conn: psycopg.Connection[Any],
    lines: Sequence[PricedLine],
    request: dict[str, list[int]],
    taken: set[int],
) -> None:
    wanted = dict(zip(request["product_ids"], request["quantities"], strict=True))
    if len(taken) == len(wanted):
        return
    available = dict(conn.execute(query("stock_left"), request).fetchall())
    for line in lines:
        product_id = line.product.id
        if product_id in wanted and product_id not in taken:
            raise errors.OutOfStockError(
                line.line_number, line.product.sku, wanted[product_id], available.get(product_id, 0)
            )


def _seat_request(cart: Sequence[CartLine], lines: Sequence[PricedLine]) -> dict[str, list[int]]:
    """Seats wanted per (session, product), summed over lines, in session id (lock) order."""
    wanted: Counter[tuple[int, int]] = Counter()
    for line, item in zip(lines, cart, strict=True):
        if item.event_session_id is not None:
            wanted[(item.event_session_id, line.product.id)] += line.quantity
    keys = sorted(wanted)
    if not keys:
        return {}
    return {
        "session_ids": [k[0] for k in keys],
        "product_ids": [k[1] for k in keys],
        "seats": [wanted[k] for k in keys],
    }


def _with_sessions(
    conn: psycopg.Connection[Any],
    cart: Sequence[CartLine],
    lines: list[PricedLine],
    request: dict[str, list[int]],
    sessions: dict[int, SessionInfo],
) -> list[PricedLine]:
    if len(sessions) < len(request["session_ids"]):
        _explain_seats(conn, cart, lines, request, sessions)
    return [
        replace(line, session=sessions[item.event_session_id])
        if item.event_session_id is not None
        else line
        for line, item in zip(lines, cart, strict=True)
    ]


def _explain_seats(
    conn: psycopg.Connection[Any],
    cart: Sequence[CartLine],
    lines: Sequence[PricedLine],
    request: dict[str, list[int]],
    taken: dict[int, SessionInfo],
) -> None:
    wanted = dict(zip(request["session_ids"], request["seats"], strict=True))
    state = {row[0]: row[1:] for row in conn.execute(query("sessions_state"), request)}
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
            line.line_number, sku, session_id, wanted[session_id], left
        )
    raise AssertionError("a seat allocation failed without a line to blame")  # pragma: no cover


def _customer_params(order: OrderRequest) -> dict[str, Any]:
    customer = order.customer
    return {
        "email": customer.email.strip(),
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "organisation": customer.organisation,
        "locale": customer.locale,
        "marketing_consent": customer.marketing_consent,
        "is_guest": customer.guest,
    }


def _order_params(facts: OrderFacts, customer: CustomerRow) -> dict[str, Any]:
    return {
        "order_number": facts.number,
        "customer_id": customer.id,
        "currency": facts.currency,
        "subtotal": facts.subtotal,
        "tax": facts.tax,
        "total": facts.total,
        "payment_method": facts.payment_method,
        "placed_at": facts.placed_at,
        "correlation_id": facts.correlation_id,
    }


def _line_params(order_number: str, lines: Sequence[PricedLine]) -> dict[str, Any]:
    return {
        "order_number": order_number,
        "line_numbers": [line.line_number for line in lines],
        "product_ids": [line.product.id for line in lines],
        "quantities": [line.quantity for line in lines],
        "unit_prices": [line.unit_price for line in lines],
        "taxes": [line.tax for line in lines],
        "session_ids": [line.session.id if line.session else None for line in lines],
    }
