"""After checkout: payments, parcels, refunds, cancellations and profile changes.

Each call works like ``place_order``: in the caller's transaction, under a savepoint, so an
impossible request raises an error naming the problem and the fix with nothing written. Each is
idempotent on its own key (the provider's payment reference, the parcel reference, the refund
reference, the order for a cancellation, the profile's state for a change): a retried call
publishes nothing new and returns the result of the first one with ``replayed=True``.

The order row is locked first, so after-sale calls on one order run one at a time and two
refunds racing can never together give back more than was paid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import psycopg

from outbox.connection import ConnectionLike, psycopg_connection, undo_savepoint
from outbox.limits import UNPRINTABLE
from outbox.models import OutgoingMessage
from outbox.publish import message_batch, message_ids
from outbox.queries import query
from outbox.shop import errors
from outbox.shop.aftersale_events import order_cancelled, order_paid, order_refunded, order_shipped
from outbox.shop.events import CustomerRow
from outbox.shop.models import PurchaseType
from outbox.shop.order_request import check_order_number
from outbox.shop.order_state import (
    Change,
    LineNow,
    OrderNow,
    OrderState,
    check_moment,
    check_same,
    check_text,
    checked_amount,
    checked_quantities,
    keyed,
    line_params,
    new_change,
    progress,
    refundable,
    shippable,
    with_progress,
)
from outbox.shop.profile import ProfileChange, apply_changes, check_changes

T = TypeVar("T")
Step = tuple[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class OrderChange:
    """What an after-sale call did: the order's status after it and the messages it published."""

    order_number: str
    reference: str
    status: str
    message_ids: tuple[int, ...]
    replayed: bool = False


def record_payment(
    conn_or_session: ConnectionLike,
    order_number: str,
    method: str,
    amount: Decimal | int | str,
    provider_reference: str,
    *,
    at: datetime | None = None,
) -> OrderChange:
    """Record money received for an order and publish ``order.paid``."""
    _check_call(order_number, at)
    value = checked_amount("payment", amount)
    check_text("provider_reference", provider_reference)
    check_text("method", method)

    def work(conn: psycopg.Connection[Any]) -> OrderChange:
        order, found = _open(conn, order_number, "find_payment", provider_reference)
        if found is not None:
            check_same("payment", provider_reference, found[:3], (order_number, method, value))
            return _replayed(conn, order, provider_reference, found[3])
        if order.cancelled_at is not None:
            raise errors.OrderCancelledError(order_number, "paid")
        due = order.now.total - order.now.amount_paid
        if value > due:
            raise errors.OverpaymentError(order_number, value, due)
        change = new_change(provider_reference, at)
        now = progress(order, amount_paid=order.now.amount_paid + value)
        messages = order_paid(now, order.customer, change, method, value)
        params = {"reference": provider_reference, "method": method, "amount": value}
        return _finish(conn, order, now, change, messages, ("insert_payment", params))

    return _in_savepoint(conn_or_session, work)


def record_shipment(
    conn_or_session: ConnectionLike,
    order_number: str,
    shipment_ref: str,
    lines: Mapping[int, int],
    carrier: str,
    tracking_number: str,
    *,
    at: datetime | None = None,
) -> OrderChange:
    """Record one parcel of physical lines and publish ``order.shipped`` for it."""
    _check_call(order_number, at)
    wanted = checked_quantities(order_number, lines, "a shipment")
    for name, value in (("shipment_ref", shipment_ref), ("carrier", carrier),
                        ("tracking_number", tracking_number)):  # fmt: skip
        check_text(name, value)

    def work(conn: psycopg.Connection[Any]) -> OrderChange:
        order, found = _open(conn, order_number, "find_shipment", shipment_ref)
        if found is not None:
            given = (order_number, carrier, tracking_number, keyed(wanted))
            check_same("shipment", shipment_ref, found[:4], given)
            return _replayed(conn, order, shipment_ref, found[4])
        if order.cancelled_at is not None:
            raise errors.OrderCancelledError(order_number, "shipped")
        parcel = [(shippable(order, number, quantity), quantity) for number, quantity in wanted]
        change = new_change(shipment_ref, at)
        shipped = {line.line_number: line.shipped + quantity for line, quantity in parcel}
        now = progress(order, shipped=shipped)
        messages = order_shipped(now, order.customer, change, (carrier, tracking_number), parcel)
        params = {"reference": shipment_ref, "carrier": carrier,
                  "tracking_number": tracking_number, **line_params(wanted)}  # fmt: skip
        return _finish(conn, order, now, change, messages, ("insert_shipment", params))

    return _in_savepoint(conn_or_session, work)


def refund(
    conn_or_session: ConnectionLike,
    order_number: str,
    refund_ref: str,
    amount: Decimal | int | str,
    lines: Mapping[int, int] | None = None,
    *,
    at: datetime | None = None,
) -> OrderChange:
    """Give money back, optionally for named lines, and publish ``order.refunded``. A
    digital-license line refunded in full (or an order refunded in full) loses its course
    access: ``enrollment.revoked`` goes to Thinkific. Refunded event seats go back on sale."""
    _check_call(order_number, at)
    value = checked_amount("refund", amount)
    check_text("refund_ref", refund_ref)
    wanted = checked_quantities(order_number, lines, "a refund") if lines is not None else []

    def work(conn: psycopg.Connection[Any]) -> OrderChange:
        order, found = _open(conn, order_number, "find_refund", refund_ref)
        if found is not None:
            given = (order_number, value, keyed(wanted) or None)
            check_same("refund", refund_ref, found[:3], given)
            return _replayed(conn, order, refund_ref, found[3])
        left = order.now.amount_paid - order.now.amount_refunded
        if value > left:
            raise errors.OverRefundError(order_number, value, left)
        moved = [(refundable(order, number, quantity), quantity) for number, quantity in wanted]
        refunded = {line.line_number: line.refunded + quantity for line, quantity in moved}
        now = progress(order, amount_refunded=order.now.amount_refunded + value)
        after = replace(order, now=now, lines=with_progress(order.lines, refunded=refunded))
        revoked = [
            line
            for line, later in zip(order.lines, after.lines, strict=True)
            if line.purchase_type is PurchaseType.DIGITAL_LICENSE
            and not order.access_revoked(line)
            and after.access_revoked(later)
        ]
        change = new_change(refund_ref, at)
        messages = order_refunded(now, order.customer, change, value, moved, revoked)
        params = {"reference": refund_ref, "amount": value, **line_params(wanted)}
        steps = [("insert_refund", params), *_refunded_seats(order, moved)]
        return _finish(conn, order, now, change, messages, *steps)

    return _in_savepoint(conn_or_session, work)


def cancel_order(
    conn_or_session: ConnectionLike,
    order_number: str,
    reason: str,
    *,
    at: datetime | None = None,
) -> OrderChange:
    """Cancel an order nothing of which has shipped: its stock and event seats are released,
    its registrations cancelled and its courses taken back; ``order.cancelled`` is published.
    Money already received is given back with ``refund``."""
    _check_call(order_number, at)
    check_text("reason", reason, 1000)

    def work(conn: psycopg.Connection[Any]) -> OrderChange:
        order, _ = _open(conn, order_number)
        if order.cancelled_at is not None:
            ids = [row[0] for row in conn.execute(query("cancellation_messages"),
                                                  {"order_number": order_number})]  # fmt: skip
            return _replayed(conn, order, order.now.number, ids)
        if any(line.shipped for line in order.lines):
            raise errors.OrderShippedError(order_number)
        revoked = [
            line
            for line in order.lines
            if line.purchase_type is PurchaseType.DIGITAL_LICENSE and not order.access_revoked(line)
        ]
        change = new_change(reason, at)
        now = progress(replace(order, cancelled_at=change.at))
        messages = order_cancelled(now, order.customer, change, order.lines, revoked)
        cancel = {"cancelled_at": change.at, "cancel_reason": reason,
                  "cancel_correlation_id": change.correlation_id}  # fmt: skip
        return _finish(conn, order, now, change, messages, *_releases(order), cancel=cancel)

    return _in_savepoint(conn_or_session, work)


def update_customer(
    conn_or_session: ConnectionLike, email: str, /, *, at: datetime | None = None, **changes: Any
) -> ProfileChange:
    """Change the profile of the customer with ``email`` (name, locale, marketing consent,
    address, preferences) and publish only the fields that really changed as
    ``customer.updated``; see ``outbox.shop.profile``."""
    if not isinstance(email, str) or UNPRINTABLE.search(email) or len(email) > 254:
        raise errors.UnknownCustomerError(str(email)[:254])
    check_moment(at)
    given = check_changes(changes)
    moment = at or datetime.now(UTC)
    return _in_savepoint(conn_or_session, lambda conn: apply_changes(conn, email, given, moment))


def _check_call(order_number: object, at: object) -> None:
    check_order_number(order_number, errors.AftersaleError)
    check_moment(at)


def _releases(order: OrderState) -> list[Step]:
    """Stock of physical lines and the seats of event lines not already refunded go back on
    sale (a refund freed its own seats)."""
    physical = [line for line in order.lines if line.purchase_type is PurchaseType.PHYSICAL]
    seated = [line for line in order.lines if line.event_session_id is not None]
    steps: list[Step] = []
    if physical:
        stock = {"product_ids": [line.product_id for line in physical],
                 "quantities": [line.quantity for line in physical],
                 "order_id": order.id}  # fmt: skip
        steps.append(("release_stock", stock))
    if seated:
        steps.append(_seats([(line, line.quantity - line.refunded) for line in seated]))
    return steps


def _refunded_seats(order: OrderState, moved: Sequence[tuple[LineNow, int]]) -> list[Step]:
    """Refunded event seats go back on sale. A refund does not restock physical lines (the
    goods may never come back, or not fit to sell), but a seat nobody will use can be sold
    again. After a cancellation the seats are already free; a replayed refund returns before
    its steps are built, so its seats are freed once."""
    seated = [(line, quantity) for line, quantity in moved if line.event_session_id is not None]
    return [_seats(seated)] if seated and order.cancelled_at is None else []


def _seats(seated: Sequence[tuple[LineNow, int]]) -> Step:
    """``release_seats`` for these many seats of each line's session."""
    return ("release_seats", {"session_ids": [line.event_session_id for line, _ in seated],
                              "seats": [quantity for _, quantity in seated]})  # fmt: skip


# --- the machinery every call shares ----------------------------------------------------------


def _in_savepoint(
    conn_or_session: ConnectionLike, work: Callable[[psycopg.Connection[Any]], T]
) -> T:
    conn = psycopg_connection(conn_or_session)
    try:
        return work(conn)
    except (psycopg.errors.DataError, psycopg.errors.InvalidParameterValue) as exc:
        undo_savepoint(conn, query("aftersale_rollback"), query("aftersale_release"))
        hint = exc.diag.message_hint
        raise errors.AftersaleError(
            f"the change cannot be stored or published: {exc.diag.message_primary}"
            + (f" ({hint})" if hint else "")
        ) from None
    except BaseException:
        undo_savepoint(conn, query("aftersale_rollback"), query("aftersale_release"))
        raise


def _open(
    conn: psycopg.Connection[Any],
    order_number: str,
    finder: str | None = None,
    reference: str | None = None,
) -> tuple[OrderState, tuple[Any, ...] | None]:
    """Savepoint, lock the order, read its lines and any earlier call with this reference:
    one round trip."""
    params = {"order_number": order_number}
    with conn.pipeline():
        conn.execute(query("aftersale_savepoint"))
        head = conn.execute(query("lock_order"), params)
        lines = conn.execute(query("order_line_state"), params)
        earlier = conn.execute(query(finder), {"reference": reference}) if finder else None
    row = head.fetchone()
    if row is None:
        raise errors.UnknownOrderError(order_number)
    found = earlier.fetchone() if earlier is not None else None
    return _order(row, lines.fetchall()), found


def _order(row: tuple[Any, ...], lines: Sequence[tuple[Any, ...]]) -> OrderState:
    now = OrderNow(row[1], row[2], row[3].strip(), row[6], row[9], row[10], row[7], row[8])
    customer = CustomerRow(*row[13:24])
    typed = tuple(LineNow(*_line_values(line)) for line in lines)
    return OrderState(row[0], now, row[11], customer, typed)


def _line_values(line: Sequence[Any]) -> list[Any]:
    """A row of ``order_line_state`` with its purchase type as the enum the code compares."""
    values = list(line)
    values[4] = PurchaseType(values[4])
    return values


def _finish(
    conn: psycopg.Connection[Any],
    order: OrderState,
    now: OrderNow,
    change: Change,
    messages: Sequence[OutgoingMessage],
    *steps: Step,
    cancel: Mapping[str, Any] | None = None,
) -> OrderChange:
    """Write the change, the order's new state and the messages, and release: one round trip."""
    batch = message_batch(messages, built=True)
    base = {"order_number": now.number, "at": change.at, "correlation_id": change.correlation_id}
    progress = {"order_number": now.number, "status": now.status, "amount_paid": now.amount_paid,
                "amount_refunded": now.amount_refunded, "cancelled_at": order.cancelled_at,
                "cancel_reason": None, "cancel_correlation_id": None, **(cancel or {})}  # fmt: skip
    with conn.pipeline():
        for name, params in steps:
            conn.execute(query(name), {**base, **params})
        conn.execute(query("update_order_progress"), progress)
        inserted = conn.execute(query("publish_many"), batch.params)
        conn.execute(query("aftersale_release"))
    ids = message_ids(inserted.fetchall(), batch)
    return OrderChange(now.number, change.reference, now.status, tuple(ids))


def _replayed(
    conn: psycopg.Connection[Any], order: OrderState, reference: str, ids: Sequence[int]
) -> OrderChange:
    conn.execute(query("aftersale_release"))
    return OrderChange(order.now.number, reference, order.now.status, tuple(ids), replayed=True)


__all__ = [
    "OrderChange",
    "ProfileChange",
    "cancel_order",
    "record_payment",
    "record_shipment",
    "refund",
    "update_customer",
]
