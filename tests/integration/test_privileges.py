"""Least privilege that holds: what each role may do, what PUBLIC may call, and functions that a
planted object on the caller's search_path cannot take over."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg import sql

import outbox
import outbox.shop
from outbox import migrate
from outbox.shop import CartLine
from tests.fixtures.catalog import customer_factory, order_factory, product_factory, session_factory


@pytest.fixture
def roles_db(db_url: str) -> str:
    migrate.upgrade(db_url, with_roles=True)
    return db_url


def _functions(conn: psycopg.Connection[Any], where: str) -> set[str]:
    rows = conn.execute(
        "SELECT p.oid::regprocedure::text FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace "
        f"WHERE n.nspname IN ('outbox', 'commerce') AND ({where})"
    ).fetchall()
    return {row[0] for row in rows}


def test_privileges_public_executes_none_of_our_functions(conn: psycopg.Connection[Any]) -> None:
    """Without the optional roles too: a new function's default (EXECUTE for PUBLIC) is revoked
    on every migrate."""
    executable = _functions(
        conn,
        "p.proacl IS NULL OR EXISTS (SELECT FROM aclexplode(p.proacl) a "
        "WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')",
    )
    assert executable == set()


def test_privileges_every_function_pins_its_search_path(conn: psycopg.Connection[Any]) -> None:
    unpinned = _functions(
        conn,
        "NOT EXISTS (SELECT FROM unnest(p.proconfig) c "
        "WHERE c ~ '^search_path=pg_catalog(, [a-z_]+)*, pg_temp$')",
    )
    assert unpinned == set()
    assert "outbox.notify_new_messages()" not in unpinned  # a trigger function is included
    assert len(_functions(conn, "true")) >= 12


def test_privileges_storefront_executes_only_the_publish_functions(roles_db: str) -> None:
    with psycopg.connect(roles_db) as conn:
        allowed = _functions(conn, "has_function_privilege('outbox_storefront', p.oid, 'EXECUTE')")
    assert allowed == {
        "outbox.publish(text,text,jsonb,text,text,uuid)",
        "outbox.publish_batch(jsonb)",
    }


@pytest.mark.parametrize(
    "statement",
    [
        # Marking another customer's pending message superseded and writing into its payload.
        """SELECT outbox.supersede_waiting_profile_changes(
               '[{"destination": "salesforce", "ordering_key": "customer:c-1", "id": 999}]')""",
        "SELECT outbox.check_message(1, 'webhook', 'e', '{}', NULL, NULL)",
        "SELECT outbox.retry_dead('salesforce')",
        "SELECT * FROM outbox.take_budget('thinkific', 1000, 1000)",
        "INSERT INTO outbox.messages (destination, event_type, payload, status) "
        "VALUES ('webhook', 'e', '{}', 'delivered')",
        "INSERT INTO outbox.messages (destination, event_type, payload) "
        "VALUES ('webhook', 'e', '{}')",
        "UPDATE outbox.messages SET status = 'superseded'",
        "UPDATE commerce.products SET price = 0.01",
        "INSERT INTO commerce.products (sku, name, purchase_type, price, stock) "
        "VALUES ('FREE', 'Free', 'physical', 0, 1)",
        "UPDATE commerce.event_sessions SET capacity = capacity + 100",
        "DELETE FROM commerce.orders",
        "INSERT INTO outbox.operator_actions (action, reason) VALUES ('retry', 'forged')",
    ],
)
def test_privileges_storefront_refused(roles_db: str, statement: str) -> None:
    with psycopg.connect(roles_db) as conn:
        conn.execute("SET ROLE outbox_storefront")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)


def test_privileges_storefront_runs_the_whole_order_life(roles_db: str) -> None:
    """Everything the reference storefront does works with outbox_storefront's rights alone:
    checkout, payment, parcel, refund of event seats, cancellation and profile changes."""
    with psycopg.connect(roles_db) as conn:
        book = product_factory(conn, "physical", stock=10)
        course = product_factory(conn, "digital_license")
        workshop = product_factory(conn, "paid_event", price="150.00")
        session = session_factory(conn, workshop["id"], capacity=5)
        conn.commit()
        conn.execute("SET ROLE outbox_storefront")
        buyer = customer_factory()
        lines = (
            CartLine(book["sku"], 2, Decimal("30.00")),
            CartLine(course["sku"], 1, Decimal("30.00")),
            CartLine(workshop["sku"], 2, Decimal("150.00"), event_session_id=session),
        )
        placed = outbox.shop.place_order(
            conn, order_factory(*lines, number="SO-R1", customer=buyer)
        )
        outbox.shop.record_payment(conn, "SO-R1", "card", placed.total, "pi_1")
        outbox.shop.record_shipment(conn, "SO-R1", "P-1", {1: 2}, "DPD", "123")
        outbox.shop.refund(conn, "SO-R1", "RF-1", Decimal("150.00"), lines={3: 1})
        outbox.shop.place_order(conn, order_factory(lines[0], number="SO-R2", customer=buyer))
        outbox.shop.cancel_order(conn, "SO-R2", "changed their mind")
        outbox.shop.update_customer(conn, buyer.email, first_name="Augusta")
        outbox.shop.update_customer(conn, buyer.email, locale="en_GB")
        outbox.publish(conn, "webhook", "ping", {})
        conn.commit()
        conn.execute("RESET ROLE")
        statuses = conn.execute(
            "SELECT event_type, status::text, count(*) FROM outbox.messages "
            "WHERE event_type = 'customer.updated' GROUP BY 1, 2 ORDER BY 2"
        ).fetchall()
        stock, seats = conn.execute(
            "SELECT (SELECT stock FROM commerce.products WHERE id = %s), "
            "(SELECT seats_taken FROM commerce.event_sessions WHERE id = %s)",
            (book["id"], session),
        ).fetchone() or (None, None)
    # The second profile change folded the first (the trigger ran with the publisher's rights).
    assert ("customer.updated", "superseded", 1) in statuses
    assert stock == 8  # 2 shipped; the cancelled order's 2 came back
    assert seats == 1  # 2 taken, 1 refunded


def test_privileges_dispatcher_cannot_edit_or_delete_the_audit(roles_db: str) -> None:
    with psycopg.connect(roles_db, autocommit=True) as conn:
        conn.execute("SET ROLE outbox_dispatcher")
        row = conn.execute("SELECT outbox.publish('webhook', 'e', '{}')").fetchone()
        assert row is not None
        assert conn.execute("SELECT outbox.cancel(%s, 'duplicate')", (row[0],)).fetchone() == (
            True,
        )
        for statement in (
            "UPDATE outbox.operator_actions SET reason = 'nothing to see'",
            "DELETE FROM outbox.operator_actions",
            "TRUNCATE outbox.operator_actions",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        assert conn.execute("SELECT action, reason FROM outbox.operator_actions").fetchall() == [
            ("cancel", "duplicate")
        ]


# --- planted objects ---------------------------------------------------------------------------

# Functions a storefront login plants in `public`, each a better match than pg_catalog's for the
# calls our functions make (or the same signature, which wins when `public` comes first on the
# caller's path). Each records that it ran and tries to make the planter a dispatcher.
PLANTED_FUNCTIONS = {
    "array_to_string(a text[], b text) RETURNS text": "pg_catalog.array_to_string(a, b)",
    "format(a text, b text) RETURNS text": "pg_catalog.format(a, b)",
    "format(a text, b timestamptz, c timestamptz, d text) RETURNS text": (
        "pg_catalog.format(a, b, c, d)"
    ),
    "now() RETURNS timestamptz": "pg_catalog.now()",
    "clock_timestamp() RETURNS timestamptz": "pg_catalog.clock_timestamp()",
    "pg_notify(a text, b text) RETURNS void": "pg_catalog.pg_notify(a, b)",
    "gen_random_uuid() RETURNS uuid": "pg_catalog.gen_random_uuid()",
    "jsonb_typeof(a jsonb) RETURNS text": "pg_catalog.jsonb_typeof(a)",
    "btrim(a text) RETURNS text": "pg_catalog.btrim(a)",
    "length(a text) RETURNS integer": "pg_catalog.length(a)",
    "current_setting(a text, b boolean) RETURNS text": "pg_catalog.current_setting(a, b)",
    "to_char(a timestamp, b text) RETURNS text": "pg_catalog.to_char(a, b)",
    "texteq_planted(a text, b text) RETURNS boolean": "pg_catalog.texteq(a, b)",
    "int8lt_planted(a bigint, b bigint) RETURNS boolean": "pg_catalog.int8lt(a, b)",
}
PLANTED_OPERATORS = {
    "=": ("text", "texteq_planted"),
    "<": ("bigint", "int8lt_planted"),
}


@pytest.fixture
def planter(roles_db: str) -> Iterator[str]:
    """A storefront login, in a database where `public` allows CREATE (PostgreSQL 14's
    default), that has planted shadowing functions and operators."""
    name = f"shop_{uuid.uuid4().hex[:8]}"
    login = sql.Identifier(name)
    with psycopg.connect(roles_db, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE outbox_storefront").format(login))
        conn.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")
        conn.execute(sql.SQL("SET SESSION AUTHORIZATION {}").format(login))
        conn.execute("CREATE TABLE public.planted_ran (what text, by_user text)")
        conn.execute("GRANT SELECT, INSERT ON public.planted_ran TO PUBLIC")
        for signature, body in PLANTED_FUNCTIONS.items():
            name_only = signature.split("(")[0]
            conn.execute(
                f"CREATE FUNCTION public.{signature} LANGUAGE plpgsql AS $$ BEGIN "
                f"INSERT INTO public.planted_ran VALUES ('{name_only}', current_user); "
                f"BEGIN EXECUTE 'GRANT outbox_dispatcher TO {name}'; "
                "EXCEPTION WHEN OTHERS THEN NULL; END; "
                + (
                    f"PERFORM {body}; RETURN; END $$"
                    if "void" in signature
                    else f"RETURN {body}; END $$"
                )
            )
        for operator, (argument, function) in PLANTED_OPERATORS.items():
            conn.execute(
                f"CREATE OPERATOR public.{operator} (LEFTARG = {argument}, "
                f"RIGHTARG = {argument}, FUNCTION = public.{function})"
            )
        conn.execute("RESET SESSION AUTHORIZATION")
    try:
        yield name
    finally:
        with psycopg.connect(roles_db, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(login))
            conn.execute(sql.SQL("DROP ROLE {}").format(login))


def _ran(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    return conn.execute("SELECT what, by_user FROM public.planted_ran").fetchall()


def _every_function_of_ours(conn: psycopg.Connection[Any]) -> None:
    """Call every function and fire every trigger, as a DBA or the daemon would."""
    first = conn.execute(
        "SELECT outbox.publish('webhook', 'order.placed', '{\"n\": 1}', 'order:1', 'k-1')"
    ).fetchone()
    assert first is not None
    profile = '{"changes": {"first_name": "Ada"}}'
    batch = (
        f'[{{"destination": "salesforce", "event_type": "customer.updated", "payload": {profile},'
        ' "ordering_key": "customer:c-1"}]'
    )
    conn.execute("SELECT * FROM outbox.publish_batch(%s::jsonb)", (batch,))
    conn.execute("SELECT * FROM outbox.publish_batch(%s::jsonb)", (batch,))  # folds the first
    conn.execute(
        "INSERT INTO outbox.messages (destination, event_type, payload, status) "
        "VALUES ('webhook', 'order.paid', '{}', 'delivered'), ('webhook', 'order.x', '{}', 'dead')"
    )
    conn.execute("SELECT outbox.cancel(%s, 'test')", first)
    conn.execute("SELECT outbox.retry(%s, 'test')", first)
    conn.execute("SELECT outbox.retry_dead('webhook', NULL, 'test')")
    conn.execute("SELECT outbox.replay('webhook', '-infinity', 'infinity')")
    conn.execute("SELECT * FROM outbox.message_history(%s)", first)
    conn.execute("SELECT outbox.actor()")
    conn.execute("SELECT * FROM outbox.take_budget('thinkific', 1, 10)")
    # The caller's own statement is on the caller's path: it names pg_catalog's operator.
    conn.execute("DELETE FROM outbox.destinations WHERE name OPERATOR(pg_catalog.=) 'null'")


@pytest.mark.parametrize("caller", ["postgres", "outbox_dispatcher"])
def test_privileges_planted_objects_never_run_inside_our_functions(
    roles_db: str, planter: str, caller: str
) -> None:
    with psycopg.connect(roles_db) as conn:
        if caller != "postgres":
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(caller)))
        conn.execute("SET search_path = public, pg_catalog")
        # The plant works: called from the caller's own session, it runs...
        row = conn.execute("SELECT array_to_string(ARRAY['a'], ','), current_user").fetchone()
        assert row is not None
        assert _ran(conn) == [("array_to_string", row[1])]
        conn.rollback()
        if caller != "postgres":
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(caller)))
        conn.execute("SET search_path = public, pg_catalog")
        # ...but nothing of it runs inside ours.
        _every_function_of_ours(conn)
        assert _ran(conn) == []
        conn.commit()
        member = conn.execute(
            "SELECT pg_has_role(%s, 'outbox_dispatcher', 'MEMBER')", (planter,)
        ).fetchone()
    assert member == (False,)
