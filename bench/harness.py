"""What every benchmark needs: a database to run on, and figures printed the same way."""

from __future__ import annotations

import os
import platform
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from dispatcher.cli.database import ensure_database, start_embedded
from outbox import migrate


@contextmanager
def scratch_database() -> Iterator[str]:
    """A freshly migrated database: on OUTBOX_BENCH_DATABASE_URL's server, or an embedded one."""
    server_url = os.environ.get("OUTBOX_BENCH_DATABASE_URL")
    with tempfile.TemporaryDirectory(prefix="outbox-bench-") as folder:
        server = None
        if not server_url:
            server = start_embedded(Path(folder))
            server_url = server.get_uri()
        name = f"bench_{uuid.uuid4().hex[:8]}"
        url = ensure_database(server_url, name)
        try:
            migrate.upgrade(url)
            yield url
        finally:
            with psycopg.connect(server_url, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
            if server is not None:
                server.cleanup()


def machine() -> str:
    return f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()}"


def figure(name: str, value: float, unit: str, note: str = "") -> None:
    print(f"{name:<48} {value:>12,.2f} {unit:<10} {note}")
