"""``outbox jobs``: the scheduled jobs' last runs, and running one now."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dispatcher.cli.options import ConfigFile, DatabaseUrl, DataDir, connect

commands = typer.Typer(help="Scheduled jobs: their last runs, and running one now.")
console = Console()


@commands.command("list")
def jobs_list(database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    """Each scheduled job: interval, next tick, last run and its outcome."""
    from outbox.queries import query

    with connect(database_url, data_dir) as conn:
        rows = conn.execute(query("list_jobs")).fetchall()
    table = Table(title="Scheduled jobs")
    for column in ("job", "every", "next run", "running on", "last finished", "outcome", "detail"):
        table.add_column(column)
    for name, interval, nxt, running, _started, finished, outcome, detail in rows:
        table.add_row(
            name,
            f"{interval:.0f} s",
            nxt.isoformat(timespec="seconds"),
            running or "",
            finished.isoformat(timespec="seconds") if finished else "",
            outcome or "",
            detail or "",
        )
    console.print(table if rows else "no job has run yet; they register when `outbox run` starts")


@commands.command("run")
def jobs_run(
    name: Annotated[str, typer.Argument(help="The job to run now.")],
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Run one scheduled job now (unless another dispatcher is running it)."""
    import asyncio

    from dispatcher import daemon
    from dispatcher.cli import database, logs
    from dispatcher.config import load as load_config
    from dispatcher.maintenance.schedule import scheduled_jobs

    logs.configure()
    settings = load_config(config)
    jobs = {job.name: job for job in scheduled_jobs(settings)}
    if name not in jobs:
        raise typer.BadParameter(f"no enabled job {name!r}; choose from {', '.join(sorted(jobs))}")
    db = database.resolve(database_url, folder=data_dir)
    ran, detail = asyncio.run(daemon.run_job_now(db.url, jobs[name], settings))
    console.print(f"{name}: {detail}" if ran else f"{name} is running on another dispatcher now")
    raise typer.Exit(0 if ran else 1)
