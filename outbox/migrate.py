"""Bring a database to the schema this code expects.

Versioned objects (schemas, tables, indexes) belong to alembic revisions under ``migrations/``.
Replaceable objects (functions under ``sql/functions``, views under ``sql/views``) are applied
after every upgrade with ``CREATE OR REPLACE``, so editing one is a change to a ``.sql`` file, not
a new revision. Both happen in one transaction under an advisory lock, so two dispatchers
starting together never migrate at the same time.

Our revisions carry the alembic branch label ``outbox`` and record their place in their own
version table, ``public.outbox_schema_version``, so they never meet an application's own
``alembic_version``. An application whose alembic history includes our revisions instead (its
``version_locations`` lists ``version_location()``) records them in its own ``alembic_version``
and calls ``apply_functions`` after its upgrade; ``outbox migrate`` then finds our revision
there, and only re-applies the replaceable objects, leaving the revisions to that history.
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
HOST_VERSION_TABLE = "alembic_version"  # alembic's default: where a host app records its history
BRANCH_LABEL = "outbox"
_MIGRATION_LOCK = 0x0B0C_0001  # advisory lock key: only one migrator at a time


@dataclass(frozen=True, slots=True)
class SchemaState:
    current: str | None
    head: str
    version_table: str = VERSION_TABLE

    @property
    def host_managed(self) -> bool:
        """Our revisions are part of an application's own alembic history."""
        return self.version_table != VERSION_TABLE

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


class HostManagedSchemaError(RuntimeError):
    """The database's outbox revisions belong to an application's own alembic history."""


def version_location() -> str:
    """The folder of our revisions, for a host application's ``version_locations``."""
    return str(resource_dir("migrations") / "versions")


def upgrade(url: str, revision: str = "head", *, with_roles: bool = False) -> SchemaState:
    """Upgrade to ``revision`` (idempotent) and re-apply every replaceable SQL object.

    ``with_roles`` also applies ``sql/roles/roles.sql``: the optional least-privilege roles.
    ``sql/roles/grants.sql`` runs every time: PUBLIC executes none of our functions, and roles
    that exist get exactly their own, including on functions this upgrade added.

    A database whose outbox revisions are in a host application's history (``alembic_version``)
    is never upgraded from here: at head, only the replaceable objects are re-applied; behind,
    ``HostManagedSchemaError`` names the history to upgrade instead.
    """
    engine = create_engine(sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            current = connection_state(connection)
            if current.host_managed:
                if revision != "head" or not current.up_to_date:
                    raise HostManagedSchemaError(_host_managed_message(current))
            else:
                command.upgrade(alembic_config(connection), revision)
            if revision == "head":
                apply_functions(connection, with_roles=with_roles)
        return state(url)
    finally:
        engine.dispose()


def downgrade(url: str, revision: str) -> SchemaState:
    engine = create_engine(sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            current = connection_state(connection)
            if current.host_managed:
                raise HostManagedSchemaError(_host_managed_message(current))
            command.downgrade(alembic_config(connection), revision)
        return state(url)
    finally:
        engine.dispose()


def state(url: str) -> SchemaState:
    """Where the database stands against the newest revision shipped with this code."""
    engine = create_engine(sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return connection_state(connection)
    finally:
        engine.dispose()


def connection_state(connection: Connection) -> SchemaState:
    """Where the database behind ``connection`` stands (our version table, or a host's)."""
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    if head is None:
        raise RuntimeError("no migrations found under migrations/versions")
    tables = set(
        connection.execute(
            text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_name IN (:ours, :host)"
            ),
            {"ours": VERSION_TABLE, "host": HOST_VERSION_TABLE},
        ).scalars()
    )
    if VERSION_TABLE not in tables and HOST_VERSION_TABLE in tables:
        context = MigrationContext.configure(
            connection, opts={"version_table": HOST_VERSION_TABLE, "version_table_schema": "public"}
        )
        ours = {rev.revision for rev in script.walk_revisions()}
        found = [r for r in context.get_current_heads() if r in ours]
        if found:
            return SchemaState(current=found[0], head=head, version_table=HOST_VERSION_TABLE)
    context = MigrationContext.configure(
        connection, opts={"version_table": VERSION_TABLE, "version_table_schema": "public"}
    )
    return SchemaState(current=context.get_current_revision(), head=head)


def _host_managed_message(current: SchemaState) -> str:
    return (
        f"the outbox revisions of this database are in the application's own alembic history "
        f"(public.{current.version_table}, at {current.current}; this code needs {current.head}): "
        f"upgrade them there (alembic upgrade heads), then run outbox migrate again"
    )


def replaceable_sql_files(root: Path | None = None) -> list[Path]:
    """Functions first (views may call them), each folder in name order."""
    base = root or resource_dir("sql")
    return sorted((base / "functions").glob("*.sql")) + sorted((base / "views").glob("*.sql"))


def apply_replaceable_objects(connection: Connection) -> None:
    for path in replaceable_sql_files():
        _run_file(connection, path)


def apply_functions(connection: Connection, *, with_roles: bool = False) -> None:
    """Apply what no revision carries, on a database at our head revision.

    Functions (``sql/functions``) and views (``sql/views``), then the function grants
    (``sql/roles/grants.sql``; with ``with_roles`` the optional roles first). ``outbox migrate``
    runs it after every upgrade; a host application that includes our revisions in its own
    alembic history calls it from its ``env.py`` after ``run_migrations``, on the same connection.
    """
    apply_replaceable_objects(connection)
    if with_roles:
        _run_file(connection, resource_dir("sql") / "roles" / "roles.sql")
    _run_file(connection, resource_dir("sql") / "roles" / "grants.sql")


def function_sql(name: str) -> str:
    """The text of one ``sql/functions`` file, for a revision that must create a trigger."""
    return (resource_dir("sql") / "functions" / name).read_text(encoding="utf-8")


def _run_file(connection: Connection, path: Path) -> None:
    driver = connection.connection.driver_connection
    if driver is None:
        raise RuntimeError("the migration connection has no driver connection")
    # The psycopg cursor runs a whole file (several statements) when given no parameters.
    driver.cursor().execute(path.read_text(encoding="utf-8"))
