"""A storefront whose own alembic history includes our revisions (README, "Including our
migrations in your alembic history"): tests/fixtures/host_app has its alembic.ini, its env.py and
one revision of its own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic import command
from alembic.config import Config

from outbox import migrate
from tests.fixtures import schema

HOST_APP = Path(__file__).resolve().parents[1] / "fixtures" / "host_app"


def _host_config(url: str) -> Config:
    config = Config(
        str(HOST_APP / "alembic.ini"),
        config_args={"outbox_versions": migrate.version_location()},
    )
    config.set_main_option("sqlalchemy.url", url)
    return config


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def _version_tables(url: str) -> list[tuple[Any, ...]]:
    return _rows(
        url,
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'public' AND table_name LIKE '%version%' ORDER BY 1",
    )


def test_host_history_migrates_ours_and_outbox_migrate_changes_nothing(
    empty_db_factory: Callable[[], str],
) -> None:
    empty_db_url, reference = empty_db_factory(), empty_db_factory()
    head = migrate.upgrade(reference).head  # a fresh `outbox migrate`, for comparison
    command.upgrade(_host_config(empty_db_url), "heads")

    assert _rows(empty_db_url, "SELECT to_regclass('public.host_notes') IS NOT NULL") == [(True,)]
    assert sorted(_rows(empty_db_url, "SELECT version_num FROM alembic_version")) == sorted(
        [("h1_host_notes",), (head,)]
    )
    assert _version_tables(empty_db_url) == [("alembic_version",)]
    # our schemas, tables, views and functions exactly as `outbox migrate` leaves a fresh database
    assert schema.snapshot(empty_db_url, privileges=True) == schema.snapshot(
        reference, privileges=True
    )
    assert _rows(empty_db_url, "SELECT outbox.publish('null', 'host.ready', '{}') > 0") == [(True,)]

    state = migrate.state(empty_db_url)
    assert (state.current, state.up_to_date, state.host_managed) == (head, True, True)
    before = schema.snapshot(empty_db_url, privileges=True)
    after_state = migrate.upgrade(empty_db_url)
    assert after_state.up_to_date
    assert schema.snapshot(empty_db_url, privileges=True) == before
    assert _version_tables(empty_db_url) == [("alembic_version",)]
    assert sorted(_rows(empty_db_url, "SELECT version_num FROM alembic_version")) == sorted(
        [("h1_host_notes",), (head,)]
    )


def test_outbox_migrate_leaves_a_host_history_that_is_behind_to_the_host(
    empty_db_url: str,
) -> None:
    config = _host_config(empty_db_url)
    command.upgrade(config, "heads")
    command.downgrade(config, "outbox@-1")
    behind = migrate.state(empty_db_url)
    assert behind.host_managed
    assert not behind.up_to_date

    with pytest.raises(migrate.HostManagedSchemaError, match="alembic upgrade heads"):
        migrate.upgrade(empty_db_url)
    assert migrate.state(empty_db_url) == behind

    command.upgrade(config, "heads")
    assert migrate.state(empty_db_url).up_to_date
