"""Errors of the outbox core: the connection and the publish contract."""

from __future__ import annotations


class OutboxError(Exception):
    """Base of every error this package raises."""


class NotInTransactionError(OutboxError):
    """The connection would commit each statement on its own, so the outbox could not be atomic."""


class UnsupportedConnectionError(OutboxError, TypeError):
    """The object given is neither a psycopg 3 connection nor a SQLAlchemy session on psycopg."""


class InvalidMessageError(OutboxError, ValueError):
    """The message breaks the publish contract (README, "The publish contract"); nothing was
    published and the caller's transaction is usable."""
