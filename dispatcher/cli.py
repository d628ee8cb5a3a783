"""The ``outbox`` command line: a thin layer over the library and the daemon."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import structlog
import typer
from psycopg_pool import AsyncConnectionPool
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dispatcher import daemon, database, logs, operator
from dispatcher.cli_options import ConfigFile, DatabaseUrl, DataDir, connect
from dispatcher.config import SalesforceDestinationConfig
from dispatcher.config import load as load_config
from dispatcher.demo import inbound as demo_inbound
from dispatcher.demo import report as demo_report
from dispatcher.demo import run as demo_run
from dispatcher.demo.shop import IncompleteCatalogError
from dispatcher.errors import ConfigError, DeliveryError
from dispatcher.jobs import scheduled_jobs
from dispatcher.mapping import MappingConfigError
from dispatcher.mapping import check as check_mappings
from dispatcher.mapping import load as load_mappings
from dispatcher.scheduler import Job, JobContext, run_job
from outbox import migrate as schema
from outbox.queries import query
from outbox.resources import resource_dir

app = typer.Typer(
    help="A transactional outbox on PostgreSQL: storefront → Salesforce and Thinkific.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="The database in use: its URL, and the embedded server's lifetime.")
app.add_typer(db_app, name="db")
jobs_app = typer.Typer(help="Scheduled jobs: their last runs, and running one now.")
app.add_typer(jobs_app, name="jobs")
mappings_app = typer.Typer(
    help="The YAML field mappings: validate them, compare them with the org."
)
app.add_typer(mappings_app, name="mappings")
console = Console()


@app.command("migrate")
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
    db = database.resolve(database_url, folder=data_dir)
    if check:
        state = schema.state(db.url)
        console.print(f"database at {state.current or 'nothing'}, code expects {state.head}")
        raise typer.Exit(0 if state.up_to_date else 1)
    state = schema.upgrade(db.url, with_roles=with_roles)
    if with_roles:
        console.print("roles outbox_storefront, outbox_dispatcher and outbox_readonly are in place")
    console.print(f"[green]database is at revision {state.current}[/green] ({_where(db)})")


@app.command("run")
def run_command(
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    migrate: Annotated[bool, typer.Option(help="Migrate the database before starting.")] = True,
) -> None:
    """Run the dispatcher daemon until SIGTERM or SIGINT."""
    logs.configure()
    try:
        settings = load_config(config)
    except ConfigError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None
    db = database.resolve(database_url, folder=data_dir)
    if migrate:
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


@mappings_app.command("check")
def mappings_check(
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Folder of the mapping files (default: the shipped mappings/)."),
    ] = None,
    against: Annotated[
        str | None,
        typer.Option(help="Also compare with a live org's describe: 'salesforce'."),
    ] = None,
    config: ConfigFile = None,
) -> None:
    """Validate every mapping file; with --against, report drift from the org's schema."""
    folder = directory or resource_dir("mappings")
    issues = check_mappings(folder)
    if issues:
        for issue in issues:
            console.print(f"[red]{escape(str(issue))}[/red]", soft_wrap=True)
        console.print(f"{len(issues)} problem(s) in {folder}")
        raise typer.Exit(1)
    mappings = load_mappings(folder)
    # The versions attempts and drift rows carry: one per destination's mapping file.
    versions = ", ".join(f"{name} {m.version}" for name, m in sorted(mappings.destinations.items()))
    console.print(f"[green]mappings in {folder} are valid[/green] (mapping versions: {versions})")
    if against is None:
        return
    if against != "salesforce":
        raise typer.BadParameter("only 'salesforce' has a describe to compare with")
    settings = load_config(config)
    org = next(
        (d for d in settings.destinations.values() if isinstance(d, SalesforceDestinationConfig)),
        None,
    )
    if org is None:
        raise typer.BadParameter("the configuration has no salesforce destination to compare with")
    try:
        findings = asyncio.run(_drift(org, mappings.destinations["salesforce"]))
    except (httpx.HTTPError, DeliveryError) as exc:
        problem = f"{type(exc).__name__}: {exc}" if isinstance(exc, httpx.HTTPError) else exc
        console.print(
            f"[red]could not compare with the org at {org.options.instance_url}: "
            f"{escape(str(problem))}[/red]",
            soft_wrap=True,
        )
        raise typer.Exit(2) from None
    for finding in findings:
        console.print(f"[yellow]drift[/yellow] {escape(str(finding))}", soft_wrap=True)
    console.print(f"{len(findings)} drift finding(s) against {org.options.instance_url}")
    raise typer.Exit(1 if findings else 0)


async def _drift(org: SalesforceDestinationConfig, mapping: Any) -> tuple[Any, ...]:
    from dispatcher.destinations.salesforce import check_org_drift

    async with httpx.AsyncClient(timeout=org.timeout_seconds) as client:
        return await check_org_drift(client, org.options, mapping, sandbox=org.sandbox)


@jobs_app.command("list")
def jobs_list(database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    """Each scheduled job: interval, next tick, last run and its outcome."""
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


@jobs_app.command("run")
def jobs_run(
    name: Annotated[str, typer.Argument(help="The job to run now.")],
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Run one scheduled job now (unless another dispatcher is running it)."""
    logs.configure()
    jobs = {job.name: job for job in scheduled_jobs(load_config(config))}
    if name not in jobs:
        raise typer.BadParameter(f"no enabled job {name!r}; choose from {', '.join(sorted(jobs))}")
    db = database.resolve(database_url, folder=data_dir)
    ran, detail = asyncio.run(_run_job_now(db.url, jobs[name]))
    console.print(f"{name}: {detail}" if ran else f"{name} is running on another dispatcher now")
    raise typer.Exit(0 if ran else 1)


async def _run_job_now(url: str, job: Job) -> tuple[bool, str | None]:
    async with (
        httpx.AsyncClient() as client,
        AsyncConnectionPool(
            url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}
        ) as pool,
    ):
        log = structlog.get_logger("outbox.jobs")
        context = JobContext(pool, daemon.new_worker_id(), log, client=client)
        return await run_job(job, context, force=True)


@app.command("sandbox")
def sandbox_command(
    host: Annotated[
        str, typer.Option(help="Interface to listen on (loopback by default).")
    ] = "127.0.0.1",
    salesforce_port: Annotated[
        int, typer.Option(min=1, max=65535, help="Port of the Salesforce sandbox.")
    ] = 8701,
    thinkific_port: Annotated[
        int, typer.Option(min=1, max=65535, help="Port of the Thinkific sandbox.")
    ] = 8702,
) -> None:
    """Serve the Salesforce and Thinkific sandboxes until interrupted."""
    from dispatcher.sandboxes.serve import serve_sandboxes

    console.print(
        f"Salesforce sandbox: http://{host}:{salesforce_port}/services/data/\n"
        f"Thinkific sandbox:  http://{host}:{thinkific_port}/api/public/v1/"
    )
    asyncio.run(serve_sandboxes(host, salesforce_port, thinkific_port))


@db_app.command("url")
def db_url(database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    """Print the database URL in use (the embedded server keeps running for psql)."""
    db = database.resolve(database_url, folder=data_dir, keep_running=True)
    typer.echo(db.url)


@db_app.command("start")
def db_start(data_dir: DataDir = None) -> None:
    """Start the embedded server and keep it running until `outbox db stop`."""
    db = database.resolve(None, folder=data_dir, keep_running=True)
    console.print(f"embedded PostgreSQL running: {db.url}")


@db_app.command("stop")
def db_stop(data_dir: DataDir = None) -> None:
    """Stop an embedded server left running by `outbox db start` or `outbox db url`."""
    stopped = database.stop_embedded(database.data_dir(data_dir))
    console.print("embedded PostgreSQL stopped" if stopped else "no embedded server was running")


@app.command("demo")
def demo_command(
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
    orders: Annotated[int, typer.Option(min=1, help="How many orders to place.")] = 500,
    seed: Annotated[int, typer.Option(help="Random seed, to repeat a run exactly.")] = 7,
    chaos: Annotated[
        bool, typer.Option(help="Inject retryable faults into both sandboxes.")
    ] = False,
    limit: Annotated[float, typer.Option(help="Give up delivering after this many seconds.")] = 120,
) -> None:
    """The whole system: sandboxes, catalog pull, orders of all four types, delivery, checks."""
    db = database.resolve(database_url, folder=data_dir)
    schema.upgrade(db.url)
    log_path = database.data_dir(data_dir) / "demo.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a") as log_file, demo_run.sandboxes(chaos=chaos, seed=seed) as boxes:
        logs.configure(logging.INFO, file=log_file)
        try:
            pulled = demo_run.pull_until_complete(db.url, boxes)
        except IncompleteCatalogError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from exc
        console.print(f"catalog pulled from the Salesforce sandbox: {pulled}")
        started = time.monotonic()
        shop = demo_run.place_orders(db.url, orders, seed)
        placed = time.monotonic() - started
        console.print(f"{orders} checkouts in {placed:.1f} s: {dict(shop.outcomes)}")
        config = demo_run.demo_config(boxes)
        seconds = asyncio.run(demo_run.deliver(db.url, config, shop, console, limit))
        result = demo_report.verdict(db.url, shop.prefix, shop.outcomes, boxes, seconds)
        changes = demo_inbound.make_changes(db.url, boxes)
        demo_inbound.pull(db.url, boxes, changes)
        demo_inbound.report(result, db.url, changes)
    console.print(result.table())
    console.print(f"dispatcher log: {log_path}")
    if result.failures:
        console.print("[red]checks failed:[/red] " + "; ".join(result.failures))
        raise typer.Exit(1)


def _where(db: database.Database) -> str:
    return f"embedded server in {db.data_dir}" if db.embedded else "server from OUTBOX_DATABASE_URL"


operator.register(app)  # listed after the commands above

if __name__ == "__main__":
    app()
