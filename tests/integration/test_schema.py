"""The schema as a DBA meets it: migrations, comments, constraints, notifications."""

from __future__ import annotations

import re
from typing import Any

import psycopg
import pytest
from alembic.script import ScriptDirectory

from outbox import migrate
from outbox.resources import resource_dir
from tests.fixtures import schema


def _schema_snapshot(url: str) -> list[tuple[Any, ...]]:
    return schema.snapshot(url)


def test_migrate_up_down_up_matches_fresh_upgrade(db_url: str) -> None:
    fresh = _schema_snapshot(db_url)
    assert migrate.downgrade(db_url, "base").current is None
    assert _schema_snapshot(db_url) == []
    assert migrate.upgrade(db_url).up_to_date
    assert _schema_snapshot(db_url) == fresh


def test_migrate_stepwise_ends_identical_to_a_fresh_migrate(db_url: str) -> None:
    """Every function ends as sql/functions defines it, whichever revisions ran on the way."""
    fresh = schema.functions(db_url)
    assert {row[0] for row in fresh} == {"outbox"}
    migrate.downgrade(db_url, "base")
    for revision in _revisions():
        migrate.upgrade(db_url, revision)
    assert migrate.upgrade(db_url).up_to_date
    assert schema.functions(db_url) == fresh


def test_every_function_at_head_is_defined_in_sql_functions(db_url: str) -> None:
    defined = set()
    for path in sorted((resource_dir("sql") / "functions").glob("*.sql")):
        defined |= set(_FUNCTION.findall(path.read_text(encoding="utf-8")))
    assert {row[1].split("(")[0] for row in schema.functions(db_url)} == defined


def test_no_revision_carries_a_function_body() -> None:
    bodies = [
        path.name
        for path in sorted((resource_dir("migrations") / "versions").glob("*.py"))
        if re.search(r"CREATE\s+(OR\s+REPLACE\s+)?FUNCTION", path.read_text(), re.IGNORECASE)
    ]
    assert bodies == []


_FUNCTION = re.compile(r"CREATE\s+OR\s+REPLACE\s+FUNCTION\s+([a-z_]+\.[a-z_]+)\s*\(", re.I)


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def test_migrate_is_idempotent_and_reports_state(db_url: str) -> None:
    first = migrate.upgrade(db_url)
    second = migrate.upgrade(db_url)
    assert first == second
    assert second.up_to_date


def test_migrate_state_behind_when_downgraded(db_url: str) -> None:
    migrate.downgrade(db_url, "base")
    state = migrate.state(db_url)
    assert not state.up_to_date
    assert state.current is None


def test_schema_every_table_and_column_has_a_comment(conn: psycopg.Connection[Any]) -> None:
    missing = conn.execute(
        """
        SELECT c.table_schema || '.' || c.table_name || '.' || c.column_name
          FROM information_schema.columns c
          JOIN pg_class t ON t.relname = c.table_name
          JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = c.table_schema
         WHERE c.table_schema IN ('commerce', 'outbox') AND t.relkind = 'r'
           AND col_description(t.oid, c.ordinal_position::int) IS NULL
        UNION ALL
        SELECT n.nspname || '.' || t.relname
          FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname IN ('commerce', 'outbox') AND t.relkind = 'r'
           AND obj_description(t.oid, 'pg_class') IS NULL
        """
    ).fetchall()
    assert missing == []


def test_notify_is_statement_level(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as listener, psycopg.connect(db_url) as writer:
        listener.execute("LISTEN outbox_messages")
        writer.execute(
            """
            INSERT INTO outbox.messages (destination, event_type, payload)
            SELECT 'null', 'bulk', jsonb_build_object('n', g) FROM generate_series(1, 200) g
            """
        )
        writer.commit()
        notes = list(listener.notifies(timeout=1.0))
    assert [n.payload for n in notes] == ["null"]


def test_messages_reject_non_object_payload(conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "INSERT INTO outbox.messages (destination, event_type, payload) "
            "VALUES ('null', 'x', '[]')"
        )


def test_messages_reject_unknown_destination_on_plain_insert(conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match='unknown destination "nowhere"'):
        conn.execute(
            "INSERT INTO outbox.messages (destination, event_type, payload) "
            "VALUES ('null', 'x', '{}'), ('nowhere', 'x', '{}')"
        )


def test_destination_with_messages_cannot_be_deleted(conn: psycopg.Connection[Any]) -> None:
    conn.execute("SELECT outbox.publish('webhook', 'x', '{}')")
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="still has messages"):
        conn.execute("DELETE FROM outbox.destinations WHERE name = 'webhook'")
