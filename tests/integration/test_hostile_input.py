"""Generated hostile input for publish (SQL and Python) and the checkout: every call ends in a
named error or a clean write, never a half-written one, and SQL and Python give the same
verdict on the same message.

Hypothesis runs derandomized (a fixed seed per test), so a failure here is reproducible and CI
cannot go red by chance; each example runs in a savepoint that is rolled back.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

import outbox
import outbox.shop
from outbox.errors import InvalidMessageError
from outbox.limits import MAX_PAYLOAD_DEPTH
from outbox.shop import CartLine, Customer, OrderRequest, errors
from tests.fixtures.catalog import product_factory

SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Characters a hostile or careless caller sends: control characters, direction marks, zero
# widths, non-ASCII letters, and plain ones. SQL text cannot carry NUL or surrogates at all
# (psycopg refuses to send them); the Python-only strategy below adds those.
NASTY = "\x01\t\n\x1b\x7f\x85\u061c\u200b\u200e\u202e\u2066\ufeffé東 ._:-/"
text = st.text(
    alphabet=st.one_of(
        st.sampled_from(NASTY), st.characters(codec="utf-8", exclude_characters="\x00")
    ),
    max_size=12,
)
long_text = st.builds(lambda c, n: c * n, st.sampled_from("ke"), st.sampled_from([199, 200, 201]))
plain = st.text(alphabet="abcXYZ019:-._/é東 ", min_size=1, max_size=20).filter(str.strip)


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually a good value, sometimes a hostile one: most examples then reach the database
    and the boundary between a clean insert and a refusal is crossed both ways."""
    return st.integers(0, 5).flatmap(lambda n: bad if n == 0 else good)


destinations = mostly(
    st.sampled_from(["salesforce", "thinkific", "webhook", "null"]),
    st.one_of(st.sampled_from(["nowhere", "Webhook", "", "x" * 64]), text),
)
event_types = mostly(
    st.sampled_from(["order.placed", "customer.updated", "a" * 100, "E-1:x_y"]),
    st.one_of(st.sampled_from(["a" * 101, " ", "1abc", "a b"]), text),
)
keys = st.one_of(st.none(), mostly(plain, st.one_of(st.just(""), text, long_text)))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)


def _nest(levels: int, inner: Any) -> Any:
    for n in range(levels):
        inner = {"k": inner} if n % 2 else [inner]
    return inner


payload_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(text, children, max_size=3)
    ),
    max_leaves=12,
)
deep_values = st.builds(
    _nest, st.integers(MAX_PAYLOAD_DEPTH - 3, MAX_PAYLOAD_DEPTH + 2), payload_values
)
payloads = mostly(
    st.dictionaries(text, st.one_of(payload_values, deep_values), max_size=3),
    st.one_of(st.lists(scalars, max_size=2), scalars),
)


@pytest.fixture
def session(conn: psycopg.Connection[Any]) -> Iterator[psycopg.Connection[Any]]:
    conn.execute("SELECT 1")  # open the outer transaction; examples use savepoints in it
    yield conn
    conn.rollback()


def _count(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) FROM outbox.messages").fetchone()
    assert row is not None
    return int(row[0])


def _stored(conn: psycopg.Connection[Any], message_id: int) -> tuple[Any, ...] | None:
    return conn.execute(
        "SELECT destination, event_type, payload, ordering_key, idempotency_key "
        "FROM outbox.messages WHERE id = %s",
        (message_id,),
    ).fetchone()


def _python_verdict(conn: psycopg.Connection[Any], args: tuple[Any, ...]) -> Any:
    destination, event_type, payload, ordering_key, key = args
    with conn.transaction(force_rollback=True):
        try:
            message_id = outbox.publish(
                conn, destination, event_type, payload,
                ordering_key=ordering_key, idempotency_key=key,
            )  # fmt: skip
        except InvalidMessageError:
            # Refused before SQL, the transaction usable and nothing written; or refused by
            # the database, whose failed statement wrote nothing.
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.INERROR:
                assert _count(conn) == 0
            return "refused"
        assert _count(conn) == 1
        return _stored(conn, message_id)


def _sql_verdict(conn: psycopg.Connection[Any], args: tuple[Any, ...]) -> Any:
    destination, event_type, payload, ordering_key, key = args
    try:
        with conn.transaction(force_rollback=True):
            row = conn.execute(
                "SELECT outbox.publish(%s, %s, %s, %s, %s)",
                (destination, event_type, Jsonb(payload), ordering_key, key),
            ).fetchone()
            assert row is not None
            assert _count(conn) == 1
            return _stored(conn, row[0])
    except psycopg.errors.InvalidParameterValue as exc:
        # Every refusal says what to do; one without a hint would not match Python's verdict.
        return "refused" if exc.diag.message_hint else f"refused without a hint: {exc}"


def _batch_verdict(conn: psycopg.Connection[Any], args: tuple[Any, ...]) -> Any:
    """outbox.publish_batch tests its rules together over a batch: the same verdict again."""
    destination, event_type, payload, ordering_key, key = args
    message = {"destination": destination, "event_type": event_type, "payload": payload,
               "ordering_key": ordering_key, "idempotency_key": key}  # fmt: skip
    try:
        with conn.transaction(force_rollback=True):
            row = conn.execute(
                "SELECT id FROM outbox.publish_batch(%s)", (Jsonb([message]),)
            ).fetchone()
            assert row is not None
            assert _count(conn) == 1
            return _stored(conn, row[0])
    except psycopg.errors.InvalidParameterValue as exc:
        return "refused" if exc.diag.message_hint else f"refused without a hint: {exc}"


@SETTINGS
@given(destinations, event_types, payloads, keys, keys)
def test_hostile_publish_sql_and_python_agree(
    session: psycopg.Connection[Any],
    destination: str,
    event_type: str,
    payload: Any,
    ordering_key: str | None,
    key: str | None,
) -> None:
    args = (destination, event_type, payload, ordering_key, key)
    python = _python_verdict(session, args)
    sql = _sql_verdict(session, args)
    batch = _batch_verdict(session, args)
    event(f"publish {'refused' if python == 'refused' else 'inserted'}")
    if "refused" in (python, sql, batch):
        assert python == sql == batch, (python, sql, batch)
        return
    # A clean insert keeps exactly what was sent (a random key when none was given), as JSONB
    # keeps it: numbers become PostgreSQL numerics, so 6.08e+16 comes back as an int.
    row = session.execute("SELECT %s::jsonb", (Jsonb(payload),)).fetchone()
    assert row is not None
    expected = (destination, event_type, row[0], ordering_key)
    assert python[:4] == sql[:4] == batch[:4] == expected
    if key is not None:
        assert python[4] == sql[4] == batch[4] == key
    assert _count(session) == 0


python_only_values = st.one_of(
    st.sampled_from(
        [float("nan"), float("inf"), Decimal("NaN"), Decimal("-Infinity"), "a\x00b", "\udc80"]
    ),
    st.integers(min_value=2**64, max_value=2**80),
    st.sets(st.integers(), max_size=2),
    st.just(object()),
)


@SETTINGS
@given(
    st.dictionaries(
        text,
        st.one_of(python_only_values, st.builds(_nest, st.just(3), python_only_values)),
        min_size=1,
    )
)
def test_hostile_publish_python_values_json_cannot_carry_are_named(
    session: psycopg.Connection[Any], payload: dict[str, Any]
) -> None:
    """A float NaN would become null and a Decimal NaN the text "NaN"; NUL and surrogates
    cannot be stored; a set or an object is not JSON. Each is refused by name."""
    assert _python_verdict(session, ("webhook", "e", {"v": payload}, None, None)) == "refused"


@pytest.fixture
def shop(conn: psycopg.Connection[Any]) -> Iterator[psycopg.Connection[Any]]:
    product_factory(conn, "physical", sku="WB-1", price="30.00", stock=50)
    conn.commit()
    yield conn
    conn.rollback()


def _checkout_written(conn: psycopg.Connection[Any]) -> tuple[Any, ...]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM commerce.orders), (SELECT count(*) FROM outbox.messages), "
        "(SELECT count(*) FROM commerce.customers), (SELECT stock FROM commerce.products)"
    ).fetchone()
    assert row is not None
    return tuple(row)


amounts = mostly(
    st.sampled_from([Decimal("0"), Decimal("2.40"), Decimal("30")]),
    st.one_of(
        st.decimals(allow_nan=True, allow_infinity=True, places=None),
        st.sampled_from([Decimal("0.001"), Decimal("1e20"), Decimal("-1")]),
        st.integers(min_value=-5, max_value=2**40),
        st.floats(),
        text,
    ),
)
cart_lines = st.builds(
    CartLine,
    sku=mostly(st.just("WB-1"), text),
    quantity=mostly(st.integers(1, 3), st.one_of(st.integers(-3, 2**40), st.floats(), text)),
    unit_price=mostly(st.just(Decimal("30.00")), amounts),
    tax=amounts,
    event_session_id=mostly(st.none(), st.integers(-1, 2**64)),
)
customers = st.builds(
    Customer,
    email=mostly(st.just("ada@example.org"), st.one_of(text, st.integers())),
    last_name=mostly(st.just("Lovelace"), text),
    first_name=mostly(st.one_of(st.just("Ada"), plain), st.one_of(text, st.none())),
    marketing_consent=mostly(st.booleans(), text),
)
orders = st.builds(
    OrderRequest,
    order_number=mostly(plain, st.one_of(text, long_text, st.integers())),
    customer=customers,
    lines=mostly(
        st.lists(cart_lines, min_size=1, max_size=2), st.lists(cart_lines, max_size=0)
    ).map(tuple),
    currency=mostly(st.just("USD"), text),
    payment_method=mostly(st.sampled_from([None, "card"]), text),
)


@SETTINGS
@given(orders)
def test_hostile_checkout_is_a_named_error_or_a_whole_order(
    shop: psycopg.Connection[Any], order: OrderRequest
) -> None:
    before = _checkout_written(shop)
    try:
        with shop.transaction(force_rollback=True):
            try:
                placed = outbox.shop.place_order(shop, order)
            except errors.CheckoutError as exc:
                event(f"checkout refused: {type(exc).__name__}")
                assert shop.info.transaction_status != psycopg.pq.TransactionStatus.INERROR
                assert _checkout_written(shop) == before
                return
            event("checkout placed")
            written, messages, _, stock = _checkout_written(shop)
            assert (written, messages) == (1, len(placed.message_ids))
            assert messages >= 1
            assert stock == before[3] - sum(line.quantity for line in order.lines)
    finally:
        assert _checkout_written(shop) == before


@pytest.fixture
def sold(shop: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    order = OrderRequest(
        "SO-H0", Customer("ada@example.org", "Lovelace"), (CartLine("WB-1", 3, Decimal("30")),)
    )
    outbox.shop.place_order(shop, order)
    outbox.shop.record_payment(shop, "SO-H0", "card", Decimal("60"), "pi-0")
    shop.commit()
    return shop


def _aftersale_written(conn: psycopg.Connection[Any]) -> tuple[Any, ...]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM outbox.messages), (SELECT count(*) FROM commerce.payments), "
        "(SELECT count(*) FROM commerce.shipments), (SELECT count(*) FROM commerce.refunds), "
        "(SELECT row(status, amount_paid, amount_refunded, cancelled_at) FROM commerce.orders), "
        "(SELECT row(first_name, last_name, locale, city) FROM commerce.customers)"
    ).fetchone()
    assert row is not None
    return tuple(row)


references = mostly(plain, st.one_of(text, long_text, st.none(), st.integers()))
quantities = st.dictionaries(
    mostly(st.integers(1, 2), st.one_of(st.integers(-2, 2**40), text)),
    mostly(st.integers(1, 3), st.one_of(st.integers(-2, 2**40), st.floats(), text)),
    max_size=2,
)
aftersale_calls = st.one_of(
    st.builds(
        lambda n, m, a, r: lambda c: outbox.shop.record_payment(c, n, m, a, r),
        mostly(st.just("SO-H0"), text), mostly(st.just("card"), text), amounts, references,
    ),
    st.builds(
        lambda n, r, q, k, t: lambda c: outbox.shop.record_shipment(c, n, r, q, k, t),
        mostly(st.just("SO-H0"), text), references, quantities, references, references,
    ),
    st.builds(
        lambda n, r, a, q: lambda c: outbox.shop.refund(c, n, r, a, q),
        mostly(st.just("SO-H0"), text), references, amounts, st.one_of(st.none(), quantities),
    ),
    st.builds(
        lambda n, r: lambda c: outbox.shop.cancel_order(c, n, r),
        mostly(st.just("SO-H0"), text), references,
    ),
    st.builds(
        lambda e, f, a: lambda c: outbox.shop.update_customer(c, e, first_name=f, address=a),
        mostly(st.just("ada@example.org"), st.one_of(text, st.integers())),
        mostly(plain, st.one_of(text, st.integers(), st.none())),
        mostly(
            st.fixed_dictionaries({"city": plain}),
            st.one_of(text, st.dictionaries(text, text, max_size=2)),
        ),
    ),
)  # fmt: skip


@SETTINGS
@given(aftersale_calls)
def test_hostile_aftersale_is_a_named_error_or_a_whole_change(
    sold: psycopg.Connection[Any], call: Any
) -> None:
    before = _aftersale_written(sold)
    with sold.transaction(force_rollback=True):
        try:
            change = call(sold)
        except errors.AftersaleError as exc:
            event(f"after-sale refused: {type(exc).__name__}")
            assert sold.info.transaction_status != psycopg.pq.TransactionStatus.INERROR
            assert _aftersale_written(sold) == before
            return
        event("after-sale done")
        after = _aftersale_written(sold)
        # A change publishes its messages with it; a replay (nothing new) writes nothing.
        assert (after == before) == (change.replayed or not change.message_ids)
        assert after[0] == before[0] + (0 if change.replayed else len(change.message_ids))
