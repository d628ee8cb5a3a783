"""Bring a database to the schema this code expects.

Versioned objects (schemas, tables, indexes) belong to alembic revisions under ``migrations/``.
Replaceable objects (functions under ``sql/functions``, views under ``sql/views``) are applied
after every upgrade with ``CREATE OR REPLACE``, so editing one is a change to a ``.sql`` file, not
a new revision. Both happen in one transaction under an advisory lock, so two dispatchers
starting together never migrate at the same time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from outbox.resources import resource_dir

VERSION_TABLE = "outbox_schema_version"
_MIGRATION_LOCK = 0x0B0C_0001  # advisory lock key: only one migrator at a time


@dataclass(frozen=True, slots=True)
class SchemaState:
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def sqlalchemy_url(url: str) -> str:
    """Name the psycopg 3 driver; to SQLAlchemy a plain ``postgresql://`` means psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str, revision: str = "head", *, with_roles: bool = False) -> SchemaState:
    """Upgrade to ``revision`` (idempotent) and re-apply every replaceable SQL object.

    ``with_roles`` also applies ``sql/roles/roles.sql``: the optional least-privilege roles.
    ``sql/roles/grants.sql`` runs every time: PUBLIC executes none of our functions, and roles
    that exist get exactly their own, including on functions this upgrade added.
    """
    engine = create_engine(sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            command.upgrade(alembic_config(connection), revision)
            if revision == "head":
                apply_replaceable_objects(connection)
                if with_roles:
                    _run_file(connection, resource_dir("sql") / "roles" / "roles.sql")
                _run_file(connection, resource_dir("sql") / "roles" / "grants.sql")
        return state(url)
    finally:
        engine.dispose()


def downgrade(url: str, revision: str) -> SchemaState:
    engine = create_engine(sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            command.downgrade(alembic_config(connection), revision)
        return state(url)
    finally:
        engine.dispose()


def state(url: str) -> SchemaState:
    """Where the database stands against the newest revision shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found under migrations/versions")
    engine = create_engine(sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": VERSION_TABLE, "version_table_schema": "public"}
            )
            return SchemaState(current=context.get_current_revision(), head=head)
    finally:
        engine.dispose()


def replaceable_sql_files(root: Path | None = None) -> list[Path]:
    """Functions first (views may call them), each folder in name order."""
    base = root or resource_dir("sql")
    return sorted((base / "functions").glob("*.sql")) + sorted((base / "views").glob("*.sql"))


def apply_replaceable_objects(connection: Connection) -> None:
    for path in replaceable_sql_files():
        _run_file(connection, path)


def _run_file(connection: Connection, path: Path) -> None:
    driver = connection.connection.driver_connection
    if driver is None:
        raise RuntimeError("the migration connection has no driver connection")
    # The psycopg cursor runs a whole file (several statements) when given no parameters.
    driver.cursor().execute(path.read_text(encoding="utf-8"))
