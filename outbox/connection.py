"""Accept the storefront's own connection, whatever it is, and never commit for it.

The outbox is only atomic with the order when its rows are written in the caller's transaction,
so every entry point first checks that there is one to join.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

import psycopg
from psycopg import pq

from outbox.errors import NotInTransactionError, UnsupportedConnectionError

ConnectionLike = Any  # a psycopg.Connection, a SQLAlchemy Session or a SQLAlchemy Connection


def psycopg_connection(conn_or_session: ConnectionLike) -> psycopg.Connection[Any]:
    """Return the psycopg 3 connection behind ``conn_or_session``, inside a transaction."""
    if isinstance(conn_or_session, psycopg.Connection):
        conn = conn_or_session
    else:
        conn = _from_sqlalchemy(conn_or_session)
    require_transaction(conn)
    return conn


def require_transaction(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> None:
    status = conn.info.transaction_status
    if status == pq.TransactionStatus.INERROR:
        raise NotInTransactionError(
            "the connection's transaction has already failed; roll it back before publishing"
        )
    if conn.autocommit and status == pq.TransactionStatus.IDLE:
        raise NotInTransactionError(
            "the connection is in autocommit mode with no transaction open, so the outbox rows "
            "could not commit together with your writes; wrap the call in "
            "`with conn.transaction():`"
        )


def _from_sqlalchemy(obj: object) -> psycopg.Connection[Any]:
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

    if isinstance(obj, Session):
        obj = obj.connection()  # begins the session's transaction if none is open
    if isinstance(obj, Connection):
        driver = obj.connection.driver_connection
        if isinstance(driver, psycopg.Connection):
            return driver
        raise UnsupportedConnectionError(
            f"the SQLAlchemy engine uses {type(driver).__module__}; create it with a "
            "'postgresql+psycopg://' URL so the outbox can join its transaction"
        )
    raise UnsupportedConnectionError(
        "expected a psycopg 3 Connection or a SQLAlchemy Session/Connection, "
        f"got {type(obj).__name__}"
    )


def undo_savepoint(conn: psycopg.Connection[Any], rollback_sql: str, release_sql: str) -> None:
    """Roll back to a call's savepoint after a refusal, leaving the caller's transaction usable.

    After a late failure the savepoint may already have been released; the caller's
    transaction is then aborted, and the caller must roll it back.
    """
    if conn.info.transaction_status == pq.TransactionStatus.IDLE:
        return
    with suppress(psycopg.errors.InvalidSavepointSpecification), conn.pipeline():
        conn.execute(rollback_sql)
        conn.execute(release_sql)
