"""The optional least-privilege roles: each can do its job and nothing more."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from outbox import migrate
from outbox.shop import place_order
from tests.fixtures.catalog import line, order_factory, product_factory


def _as(conn: psycopg.Connection[Any], role: str) -> None:
    conn.execute(f"SET ROLE {role}")


def test_roles_limit_each_user_to_its_job(db_url: str) -> None:
    migrate.upgrade(db_url, with_roles=True)
    migrate.upgrade(db_url, with_roles=True)  # re-running is safe
    with psycopg.connect(db_url, autocommit=True) as conn:
        _as(conn, "outbox_storefront")
        row = conn.execute("SELECT outbox.publish('salesforce', 'order.placed', '{}')").fetchone()
        assert row is not None
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE outbox.messages SET status = 'delivered'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT outbox.retry_dead('salesforce')")
        conn.execute("RESET ROLE")
        _as(conn, "outbox_readonly")
        assert conn.execute("SELECT count(*) FROM outbox.backlog").fetchone() is not None
        assert conn.execute(
            "SELECT count(*) FROM outbox.message_history(%s)", (row[0],)
        ).fetchone() == (1,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT outbox.cancel(%s, 'no')", (row[0],))
        conn.execute("RESET ROLE")
        _as(conn, "outbox_dispatcher")
        assert conn.execute("SELECT outbox.cancel(%s, 'test')", (row[0],)).fetchone() == (True,)


def test_roles_let_checkout_write_the_stock_ledger_and_the_dispatcher_prune_it(
    db_url: str,
) -> None:
    migrate.upgrade(db_url, with_roles=True)
    with psycopg.connect(db_url) as conn:
        book = product_factory(conn, stock=5)
        conn.commit()
        _as(conn, "outbox_storefront")
        place_order(conn, order_factory(line(book, 2)))
        conn.commit()
        conn.execute("RESET ROLE")
        _as(conn, "outbox_dispatcher")
        row = conn.execute(
            "SELECT units_not_in_salesforce, stock FROM commerce.stock_position"
        ).fetchone()
        assert row == (2, 3)
        conn.execute("DELETE FROM commerce.stock_movements WHERE false")
        conn.commit()
        _as(conn, "outbox_readonly")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM commerce.stock_movements")
