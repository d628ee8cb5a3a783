"""``outbox sandbox`` and ``outbox demo``: the only commands that load the ``sandboxes`` package.

The sandboxes, the demo shop and the chaos harness ship in the same distribution as the
dispatcher but outside it; they are imported here, inside these two commands, and nowhere
else in ``dispatcher`` (an import-linter contract holds that).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from dispatcher.cli.options import DatabaseUrl, DataDir

commands = typer.Typer()
console = Console()


def register(app: typer.Typer) -> None:
    app.registered_commands.extend(commands.registered_commands)


@commands.command("sandbox")
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
    import asyncio

    from sandboxes.serve import serve_sandboxes

    console.print(
        f"Salesforce sandbox: http://{host}:{salesforce_port}/services/data/\n"
        f"Thinkific sandbox:  http://{host}:{thinkific_port}/api/public/v1/"
    )
    asyncio.run(serve_sandboxes(host, salesforce_port, thinkific_port))


@commands.command("demo")
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
    import asyncio
    import logging
    import time

    from dispatcher.cli import database, logs
    from outbox import migrate as schema
    from sandboxes.demo import boxes as demo_boxes
    from sandboxes.demo import inbound as demo_inbound
    from sandboxes.demo import report as demo_report
    from sandboxes.demo import run as demo_run
    from sandboxes.demo.shop import IncompleteCatalogError

    db = database.resolve(database_url, folder=data_dir)
    schema.upgrade(db.url)
    log_path = database.data_dir(data_dir) / "demo.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a") as log_file, demo_boxes.sandboxes(chaos=chaos, seed=seed) as boxes:
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
    # The log file is closed now, but the embedded server stops later, at exit, and logs as it
    # goes: send what is left to stderr, warnings only, instead of into the closed file.
    logs.configure(logging.WARNING)
    console.print(result.table())
    console.print(f"dispatcher log: {log_path}")
    if result.failures:
        console.print("[red]checks failed:[/red] " + "; ".join(result.failures))
        raise typer.Exit(1)
