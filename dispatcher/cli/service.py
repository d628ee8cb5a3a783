"""``outbox migrate`` and ``outbox run``: the database schema, and the dispatcher daemon."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from dispatcher.cli.options import ConfigFile, DatabaseUrl, DataDir

commands = typer.Typer()
console = Console()


def register(app: typer.Typer) -> None:
    app.registered_commands.extend(commands.registered_commands)


@commands.command("migrate")
def migrate_command(
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
    check: Annotated[
        bool, typer.Option("--check", help="Only report; exit 1 when the database is behind.")
    ] = False,
    with_roles: Annotated[
        bool,
        typer.Option(help="Also create the storefront, dispatcher and read-only roles."),
    ] = False,
) -> None:
    """Create or upgrade the commerce and outbox schemas (safe to run again)."""
    from dispatcher.cli import database
    from outbox import migrate as schema

    db = database.resolve(database_url, folder=data_dir)
    if check:
        state = schema.state(db.url)
        console.print(f"database at {state.current or 'nothing'}, code expects {state.head}")
        raise typer.Exit(0 if state.up_to_date else 1)
    state = schema.upgrade(db.url, with_roles=with_roles)
    if with_roles:
        console.print("roles outbox_storefront, outbox_dispatcher and outbox_readonly are in place")
    where = (
        f"embedded server in {db.data_dir}" if db.embedded else "server from OUTBOX_DATABASE_URL"
    )
    console.print(f"[green]database is at revision {state.current}[/green] ({where})")


@commands.command("run")
def run_command(
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    migrate: Annotated[bool, typer.Option(help="Migrate the database before starting.")] = True,
) -> None:
    """Run the dispatcher daemon until SIGTERM or SIGINT."""
    import asyncio

    from dispatcher import daemon
    from dispatcher.cli import database, logs
    from dispatcher.config import load as load_config
    from dispatcher.core.errors import ConfigError
    from dispatcher.mapping import MappingConfigError

    logs.configure()
    try:
        settings = load_config(config)
    except ConfigError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None
    db = database.resolve(database_url, folder=data_dir)
    if migrate:
        from outbox import migrate as schema  # alembic: a third of the start-up, when it is used

        schema.upgrade(db.url)
    try:
        asyncio.run(daemon.run(settings, db.url))
    except ConfigError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None
    except MappingConfigError as exc:
        console.print(
            "[red]the field mappings are invalid; the dispatcher did not start.\n"
            f"{escape(str(exc))}[/red]",
            soft_wrap=True,
        )
        raise typer.Exit(2) from None
