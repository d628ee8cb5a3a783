"""After checkout against real PostgreSQL: payments, parcels, refunds, cancellation, profiles."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from outbox import migrate
from outbox.migrate import sqlalchemy_url
from outbox.shop import (
    cancel_order,
    errors,
    place_order,
    record_payment,
    record_shipment,
    refund,
    update_customer,
)
from tests.fixtures.catalog import line, order_factory, product_factory, session_factory


@pytest.fixture
def shop(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """One order of each kind of line: 3 books (line 1), a course (2), a workshop seat (3)."""
    book = product_factory(conn, "physical", stock=10)
    course = product_factory(conn, "digital_license", price="40.00", course_id=1001)
    workshop = product_factory(conn, "paid_event", price="150.00")
    session = session_factory(conn, workshop["id"], capacity=5)
    order = order_factory(
        line(book, 3), line(course, 1), line(workshop, 1, event_session_id=session), number="SO-1"
    )
    place_order(conn, order)
    conn.commit()
    return {"book": book, "session": session, "email": order.customer.email}


def _messages(conn: psycopg.Connection[Any], event_type: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT destination, ordering_key, idempotency_key, payload, status::text"
        " FROM outbox.messages WHERE event_type = %s ORDER BY id",
        (event_type,),
    ).fetchall()


def _count(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM commerce.{table}").fetchone()
    assert row is not None
    return int(row[0])


def _order(conn: psycopg.Connection[Any]) -> tuple[Any, ...]:
    row = conn.execute(
        "SELECT status::text, amount_paid, amount_refunded FROM commerce.orders"
        " WHERE order_number = 'SO-1'"
    ).fetchone()
    assert row is not None
    return tuple(row)


def test_record_payment_publishes_order_paid_under_the_order_key(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    paid = record_payment(conn, "SO-1", "card", Decimal("280.00"), "pi_1")
    conn.commit()
    assert (paid.status, paid.replayed, len(paid.message_ids)) == ("paid", False, 1)
    ((destination, key, idempotency, payload, _),) = _messages(conn, "order.paid")
    assert (destination, idempotency) == ("salesforce", "order.paid:SO-1:pi_1")
    assert key == f"customer:{payload['customer']['id']}"  # one key for a customer's writes
    assert payload["payment"]["amount"] == "280.00"
    assert payload["order"]["amount_paid"] == "280.00"
    assert payload["order"]["status"] == "paid"
    assert _order(conn) == ("paid", Decimal("280.00"), Decimal("0.00"))


def test_record_payment_retry_publishes_nothing_new(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    first = record_payment(conn, "SO-1", "card", "100.00", "pi_1")
    again = record_payment(conn, "SO-1", "card", "100.00", "pi_1")
    assert again.replayed
    assert again.message_ids == first.message_ids
    assert len(_messages(conn, "order.paid")) == 1
    assert _order(conn)[1] == Decimal("100.00")


def test_record_payment_reused_reference_is_refused(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    record_payment(conn, "SO-1", "card", "100.00", "pi_1")
    with pytest.raises(errors.ReferenceReusedError, match="pi_1"):
        record_payment(conn, "SO-1", "card", "90.00", "pi_1")


def test_record_payment_impossible_requests_write_nothing(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    with pytest.raises(errors.UnknownOrderError, match="SO-404"):
        record_payment(conn, "SO-404", "card", "10.00", "pi_1")
    with pytest.raises(errors.OverpaymentError, match=r"280\.00 left to pay"):
        record_payment(conn, "SO-1", "card", "280.01", "pi_2")
    for amount in ("0", "-5", "1.001", "abc"):
        with pytest.raises(errors.InvalidAmountError):
            record_payment(conn, "SO-1", "card", amount, "pi_3")
    with pytest.raises(errors.AftersaleError, match="provider_reference is empty"):
        record_payment(conn, "SO-1", "card", "1.00", " ")
    assert _count(conn, "payments") == 0
    assert _order(conn)[0] == "placed"
    conn.commit()  # the caller's transaction is still usable


def test_record_payment_of_a_cancelled_order_is_refused(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    cancel_order(conn, "SO-1", "changed my mind")
    with pytest.raises(errors.OrderCancelledError, match="cancelled and cannot be paid"):
        record_payment(conn, "SO-1", "card", "10.00", "pi_1")


def test_record_shipment_two_parcels_ship_the_order(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    first = record_shipment(conn, "SO-1", "PCL-1", {1: 2}, "UPS", "1Z001")
    second = record_shipment(conn, "SO-1", "PCL-2", {1: 1}, "DHL", "JD002")
    conn.commit()
    assert (first.status, second.status) == ("partially_shipped", "shipped")
    shipped = _messages(conn, "order.shipped")
    assert [m[3]["shipment"]["tracking_number"] for m in shipped] == ["1Z001", "JD002"]
    assert shipped[0][3]["shipment"]["lines"] == [
        {"line_id": "SO-1-1", "line_number": 1, "sku": shop["book"]["sku"],
         "purchase_type": "physical", "quantity": 2}
    ]  # fmt: skip
    assert {m[1] for m in shipped} == {f"customer:{shipped[0][3]['customer']['id']}"}
    assert (_count(conn, "shipments"), _count(conn, "shipment_lines")) == (2, 2)


def test_record_shipment_retry_publishes_nothing_new(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    first = record_shipment(conn, "SO-1", "PCL-1", {1: 2}, "UPS", "1Z001")
    again = record_shipment(conn, "SO-1", "PCL-1", {1: 2}, "UPS", "1Z001")
    assert (again.replayed, again.message_ids) == (True, first.message_ids)
    assert len(_messages(conn, "order.shipped")) == 1
    with pytest.raises(errors.ReferenceReusedError):
        record_shipment(conn, "SO-1", "PCL-1", {1: 1}, "UPS", "1Z001")


def test_record_shipment_impossible_requests_write_nothing(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    record_shipment(conn, "SO-1", "PCL-1", {1: 2}, "UPS", "1Z001")
    with pytest.raises(errors.OverShipmentError, match="only 1 ordered and not yet shipped"):
        record_shipment(conn, "SO-1", "PCL-2", {1: 2}, "UPS", "1Z002")
    with pytest.raises(errors.NotShippableError, match="digital_license"):
        record_shipment(conn, "SO-1", "PCL-2", {2: 1}, "UPS", "1Z002")
    with pytest.raises(errors.UnknownOrderLineError, match="line 9"):
        record_shipment(conn, "SO-1", "PCL-2", {9: 1}, "UPS", "1Z002")
    with pytest.raises(errors.InvalidQuantitiesError, match="lists no lines"):
        record_shipment(conn, "SO-1", "PCL-2", {}, "UPS", "1Z002")
    with pytest.raises(errors.InvalidQuantitiesError, match="at least 1"):
        record_shipment(conn, "SO-1", "PCL-2", {1: 0}, "UPS", "1Z002")
    with pytest.raises(errors.UnknownOrderError):
        record_shipment(conn, "SO-2", "PCL-2", {1: 1}, "UPS", "1Z002")
    assert (_count(conn, "shipments"), len(_messages(conn, "order.shipped"))) == (1, 1)


def test_refund_partial_amount_keeps_access_and_records_lines(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    record_payment(conn, "SO-1", "card", "280.00", "pi_1")
    done = refund(conn, "SO-1", "RF-1", "30.00", {1: 1})
    conn.commit()
    assert done.status == "partially_refunded"
    ((_, key, _, payload, _),) = _messages(conn, "order.refunded")
    assert key == f"customer:{payload['customer']['id']}"
    assert payload["refund"]["amount"] == "30.00"
    assert payload["order"]["amount_refunded"] == "30.00"
    assert payload["revoked_enrollments"] == []
    assert _messages(conn, "enrollment.revoked") == []


def test_refund_of_a_course_line_revokes_the_enrollment(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    record_payment(conn, "SO-1", "card", "280.00", "pi_1")
    done = refund(conn, "SO-1", "RF-1", "40.00", {2: 1})
    assert len(done.message_ids) == 2
    ((destination, key, idempotency, payload, _),) = _messages(conn, "enrollment.revoked")
    requested = _messages(conn, "enrollment.requested")[0]
    assert (destination, key) == ("thinkific", requested[1])
    assert idempotency == "enrollment.revoked:SO-1:2"
    assert (payload["course_id"], payload["reason"]) == (1001, "refunded")
    (order_refunded,) = _messages(conn, "order.refunded")
    assert [e["enrollment_id"] for e in order_refunded[3]["revoked_enrollments"]] == ["SO-1-2"]


def test_refund_in_full_revokes_every_course(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    record_payment(conn, "SO-1", "card", "280.00", "pi_1")
    assert refund(conn, "SO-1", "RF-1", "280.00").status == "refunded"
    assert len(_messages(conn, "enrollment.revoked")) == 1


def test_refund_retry_publishes_nothing_new(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    record_payment(conn, "SO-1", "card", "280.00", "pi_1")
    first = refund(conn, "SO-1", "RF-1", "40.00", {2: 1})
    again = refund(conn, "SO-1", "RF-1", "40.00", {2: 1})
    assert (again.replayed, again.message_ids) == (True, first.message_ids)
    assert len(_messages(conn, "order.refunded")) == 1
    with pytest.raises(errors.ReferenceReusedError):
        refund(conn, "SO-1", "RF-1", "40.00")


def test_refund_impossible_requests_write_nothing(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    with pytest.raises(errors.OverRefundError, match=r"0\.00 paid and not yet refunded"):
        refund(conn, "SO-1", "RF-1", "1.00")
    record_payment(conn, "SO-1", "card", "100.00", "pi_1")
    with pytest.raises(errors.OverRefundError, match=r"100\.00 paid"):
        refund(conn, "SO-1", "RF-1", "100.01")
    with pytest.raises(errors.OverRefundLineError, match="only 1 not yet refunded"):
        refund(conn, "SO-1", "RF-1", "10.00", {2: 2})
    with pytest.raises(errors.UnknownOrderLineError):
        refund(conn, "SO-1", "RF-1", "10.00", {7: 1})
    with pytest.raises(errors.InvalidAmountError):
        refund(conn, "SO-1", "RF-1", "-1")
    assert (_count(conn, "refunds"), _count(conn, "refund_lines")) == (0, 0)
    assert _order(conn)[2] == Decimal("0.00")


def _stock_and_seats(conn: psycopg.Connection[Any], shop: dict[str, Any]) -> tuple[Any, ...]:
    row = conn.execute(
        "SELECT (SELECT stock FROM commerce.products WHERE id = %s),"
        " (SELECT seats_taken FROM commerce.event_sessions WHERE id = %s)",
        (shop["book"]["id"], shop["session"]),
    ).fetchone()
    assert row is not None
    return tuple(row)


def _seats_taken(conn: psycopg.Connection[Any], session: int) -> int:
    row = conn.execute(
        "SELECT seats_taken FROM commerce.event_sessions WHERE id = %s", (session,)
    ).fetchone()
    assert row is not None
    return int(row[0])


def _seated_order(
    conn: psycopg.Connection[Any], kind: str, seats: int, capacity: int
) -> tuple[int, dict[str, Any]]:
    """Order SO-2, 30.00 paid: a book (line 1) and ``seats`` seats of a new session (line 2)."""
    book = product_factory(conn, "physical", stock=10)
    event = product_factory(conn, kind, price="50.00")
    session = session_factory(conn, event["id"], capacity=capacity)
    seated = line(event, seats, event_session_id=session)
    place_order(conn, order_factory(line(book), seated, number="SO-2"))
    record_payment(conn, "SO-2", "card", "30.00", "pi_2")
    return session, event


@pytest.mark.parametrize("kind", ["paid_event", "free_event"])
def test_refund_of_an_event_line_frees_its_seats(conn: psycopg.Connection[Any], kind: str) -> None:
    session, event = _seated_order(conn, kind, seats=3, capacity=3)
    refund(conn, "SO-2", "RF-2", "10.00", {2: 2})
    conn.commit()
    assert _seats_taken(conn, session) == 1
    place_order(conn, order_factory(line(event, 2, event_session_id=session), number="SO-3"))
    assert _seats_taken(conn, session) == 3


def test_refund_replayed_frees_seats_once(conn: psycopg.Connection[Any]) -> None:
    session, _ = _seated_order(conn, "paid_event", seats=3, capacity=5)
    first = refund(conn, "SO-2", "RF-2", "10.00", {2: 1})
    again = refund(conn, "SO-2", "RF-2", "10.00", {2: 1})
    conn.commit()
    assert (first.replayed, again.replayed) == (False, True)
    assert _seats_taken(conn, session) == 2


def test_refund_of_a_physical_line_leaves_stock_alone(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    record_payment(conn, "SO-1", "card", "280.00", "pi_1")
    refund(conn, "SO-1", "RF-1", "30.00", {1: 1})
    assert _stock_and_seats(conn, shop) == (7, 1)


def test_cancel_order_after_a_seat_refund_frees_only_the_seats_left(
    conn: psycopg.Connection[Any],
) -> None:
    session, event = _seated_order(conn, "paid_event", seats=3, capacity=5)
    place_order(conn, order_factory(line(event, 1, event_session_id=session), number="SO-3"))
    refund(conn, "SO-2", "RF-2", "10.00", {2: 2})
    cancel_order(conn, "SO-2", "customer asked")
    assert _seats_taken(conn, session) == 1  # SO-3's seat stays taken


def test_refund_after_cancel_order_frees_no_seat_twice(conn: psycopg.Connection[Any]) -> None:
    session, event = _seated_order(conn, "paid_event", seats=2, capacity=5)
    place_order(conn, order_factory(line(event, 1, event_session_id=session), number="SO-3"))
    cancel_order(conn, "SO-2", "customer asked")
    refund(conn, "SO-2", "RF-2", "30.00", {2: 2})
    assert _seats_taken(conn, session) == 1  # SO-3's seat stays taken


def test_cancel_order_releases_stock_and_seats_and_takes_access_back(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    assert _stock_and_seats(conn, shop) == (7, 1)
    done = cancel_order(conn, "SO-1", "customer asked")
    conn.commit()
    assert done.status == "cancelled"
    assert _stock_and_seats(conn, shop) == (10, 0)
    ((_, key, _, payload, _),) = _messages(conn, "order.cancelled")
    assert key == f"customer:{payload['customer']['id']}"
    assert payload["cancellation"]["reason"] == "customer asked"
    assert [(r["registration_id"], r["paid"]) for r in payload["registrations"]] == [
        ("SO-1-3", True)
    ]
    assert payload["released_stock"] == [{"sku": shop["book"]["sku"], "quantity": 3}]
    ((_, _, _, revoked, _),) = _messages(conn, "enrollment.revoked")
    assert revoked["reason"] == "cancelled"


def test_cancel_order_retry_releases_nothing_twice(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    first = cancel_order(conn, "SO-1", "customer asked")
    again = cancel_order(conn, "SO-1", "customer asked")
    assert (again.replayed, again.message_ids) == (True, first.message_ids)
    assert _stock_and_seats(conn, shop) == (10, 0)


def test_cancel_order_after_a_course_refund_revokes_it_once(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    record_payment(conn, "SO-1", "card", "280.00", "pi_1")
    refund(conn, "SO-1", "RF-1", "40.00", {2: 1})
    cancel_order(conn, "SO-1", "customer asked")
    assert len(_messages(conn, "enrollment.revoked")) == 1


def test_cancel_order_impossible_requests_write_nothing(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    record_shipment(conn, "SO-1", "PCL-1", {1: 1}, "UPS", "1Z001")
    with pytest.raises(errors.OrderShippedError, match="refund the returned lines"):
        cancel_order(conn, "SO-1", "too late")
    with pytest.raises(errors.UnknownOrderError):
        cancel_order(conn, "SO-9", "no such order")
    assert _messages(conn, "order.cancelled") == []
    assert _stock_and_seats(conn, shop) == (7, 1)


def test_record_shipment_of_a_cancelled_order_is_refused(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    cancel_order(conn, "SO-1", "customer asked")
    with pytest.raises(errors.OrderCancelledError, match="cannot be shipped"):
        record_shipment(conn, "SO-1", "PCL-1", {1: 1}, "UPS", "1Z001")


def test_update_customer_publishes_only_what_changed(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    address = {"line1": "1 Analytical Way", "city": "London", "postal_code": "N1", "country": "GB"}
    done = update_customer(
        conn, shop["email"].upper(), first_name="Ada", last_name="King", address=address,
        preferences={"newsletter": True},
    )  # fmt: skip
    conn.commit()
    assert done.version == 1
    assert set(done.changes) == {"last_name", "address", "preferences"}
    salesforce, thinkific = _messages(conn, "customer.updated")
    (destination, key, idempotency, payload, _) = salesforce
    assert (destination, key) == ("salesforce", f"customer:c-{done.customer_id}")
    assert idempotency == f"customer.updated:c-{done.customer_id}:1"
    assert thinkific[:3] == ("thinkific", key, f"customer.updated:c-{done.customer_id}:1:thinkific")
    assert thinkific[3]["changes"] == {"last_name": "King"}  # only the names Thinkific keeps
    assert payload["changes"]["last_name"] == "King"
    assert payload["changes"]["address"]["line2"] is None
    assert payload["changes"]["preferences"] == {"newsletter": True}
    assert payload["customer"]["email"] == shop["email"]


def test_update_customer_retry_publishes_nothing_new(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    update_customer(conn, shop["email"], marketing_consent=True)
    again = update_customer(conn, shop["email"], marketing_consent=True)
    assert (again.replayed, again.version, again.message_ids) == (True, 1, ())
    assert len(_messages(conn, "customer.updated")) == 1


def test_update_customer_refuses_what_it_cannot_change(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    with pytest.raises(errors.UnknownCustomerError):
        update_customer(conn, "nobody@example.org", first_name="X")
    with pytest.raises(errors.InvalidProfileChangeError, match="the e-mail is the customer's key"):
        update_customer(conn, shop["email"], email="new@example.org")
    with pytest.raises(errors.InvalidProfileChangeError, match="not a profile field"):
        update_customer(conn, shop["email"], has_opted_out_of_email=True)
    with pytest.raises(errors.InvalidProfileChangeError, match="last_name cannot be empty"):
        update_customer(conn, shop["email"], last_name=" ")
    with pytest.raises(errors.InvalidProfileChangeError, match="contact_channel"):
        update_customer(conn, shop["email"], preferences={"contact_channel": "pigeon"})
    with pytest.raises(errors.InvalidProfileChangeError, match="address"):
        update_customer(conn, shop["email"], address={"street": "x"})
    assert _messages(conn, "customer.updated") == []


def test_update_customer_waiting_changes_merge_into_the_newest(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    update_customer(conn, shop["email"], first_name="Augusta")
    conn.commit()
    update_customer(conn, shop["email"], marketing_consent=True)
    conn.commit()
    newest = update_customer(conn, shop["email"], first_name="Ada")
    conn.commit()
    rows = [row for row in _messages(conn, "customer.updated") if row[0] == "salesforce"]
    assert [status for *_, status in rows] == ["superseded", "superseded", "pending"]
    assert rows[-1][3]["changes"] == {"first_name": "Ada", "marketing_consent": True}
    assert rows[-1][3]["version"] == newest.version == 3


def test_update_customer_does_not_supersede_a_message_in_flight(
    conn: psycopg.Connection[Any], shop: dict[str, Any]
) -> None:
    update_customer(conn, shop["email"], first_name="Augusta")
    conn.execute(
        "UPDATE outbox.messages SET status = 'in_flight', lease_owner = 'w',"
        " lease_expires_at = now() + interval '1 minute' WHERE event_type = 'customer.updated'"
    )
    update_customer(conn, shop["email"], first_name="Ada")
    rows = [row for row in _messages(conn, "customer.updated") if row[0] == "salesforce"]
    assert [status for *_, status in rows] == ["in_flight", "pending"]
    assert rows[-1][3]["changes"] == {"first_name": "Ada"}


def test_aftersale_calls_join_a_sqlalchemy_session(db_url: str, shop: dict[str, Any]) -> None:
    engine = create_engine(sqlalchemy_url(db_url))
    with Session(engine) as session, session.begin():
        done = record_payment(session, "SO-1", "card", "280.00", "pi_1")
    engine.dispose()
    assert done.status == "paid"


def test_update_customer_supersedes_for_the_storefront_role(db_url: str) -> None:
    """The storefront's role may not change a message's status; the trigger still may."""
    migrate.upgrade(db_url, with_roles=True)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SET ROLE outbox_storefront")
        for version in (1, 2):
            conn.execute(
                "SELECT outbox.publish('salesforce', 'customer.updated', %s::jsonb,"
                " ordering_key => 'customer:c-1', idempotency_key => %s)",
                (f'{{"changes": {{"v{version}": {version}}}}}', f"customer.updated:c-1:{version}"),
            )
        conn.execute("RESET ROLE")
        rows = conn.execute(
            "SELECT status::text, payload -> 'changes' FROM outbox.messages ORDER BY id"
        ).fetchall()
    assert rows == [("superseded", {"v1": 1}), ("pending", {"v1": 1, "v2": 2})]
