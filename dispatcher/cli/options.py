"""Options shared by the ``outbox`` commands, and the connection they open."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer

from dispatcher.cli import database
from dispatcher.config_file import CONFIG_ENV

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar=database.DATABASE_URL_ENV,
        help="PostgreSQL URL. Without it an embedded server is started in --data-dir.",
        show_default=False,
    ),
]
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar=database.DATA_DIR_ENV,
        help="Folder of the embedded server's data (default .outbox).",
        show_default=False,
    ),
]
ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config", envvar=CONFIG_ENV, help="YAML configuration file.", show_default=False
    ),
]


def connect(database_url: str | None, data_dir: Path | None) -> psycopg.Connection[Any]:
    return psycopg.connect(database.resolve(database_url, folder=data_dir).url)
