"""``outbox db``: the database in use, and the embedded server's lifetime."""

from __future__ import annotations

import typer
from rich.console import Console

from dispatcher.cli.options import DatabaseUrl, DataDir

commands = typer.Typer(help="The database in use: its URL, and the embedded server's lifetime.")
console = Console()


@commands.command("url")
def db_url(database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    """Print the database URL in use (the embedded server keeps running for psql)."""
    from dispatcher.cli import database

    db = database.resolve(database_url, folder=data_dir, keep_running=True)
    typer.echo(db.url)


@commands.command("start")
def db_start(data_dir: DataDir = None) -> None:
    """Start the embedded server and keep it running until `outbox db stop`."""
    from dispatcher.cli import database

    db = database.resolve(None, folder=data_dir, keep_running=True)
    console.print(f"embedded PostgreSQL running: {db.url}")


@commands.command("stop")
def db_stop(data_dir: DataDir = None) -> None:
    """Stop an embedded server left running by `outbox db start` or `outbox db url`."""
    from dispatcher.cli import database

    stopped = database.stop_embedded(database.data_dir(data_dir))
    console.print("embedded PostgreSQL stopped" if stopped else "no embedded server was running")
