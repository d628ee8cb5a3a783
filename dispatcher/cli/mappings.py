"""``outbox mappings``: validate the field mappings, and compare them with a live org."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from dispatcher.cli.options import ConfigFile

commands = typer.Typer(help="The YAML field mappings: validate them, compare them with the org.")
console = Console()


@commands.command("check")
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
    from dispatcher.mapping import check, load
    from outbox.resources import resource_dir

    folder = directory or resource_dir("mappings")
    issues = check(folder)
    if issues:
        for issue in issues:
            console.print(f"[red]{escape(str(issue))}[/red]", soft_wrap=True)
        console.print(f"{len(issues)} problem(s) in {folder}")
        raise typer.Exit(1)
    mappings = load(folder)
    # The versions attempts and drift rows carry: one per destination's mapping file.
    versions = ", ".join(f"{name} {m.version}" for name, m in sorted(mappings.destinations.items()))
    console.print(f"[green]mappings in {folder} are valid[/green] (mapping versions: {versions})")
    if against is None:
        return
    if against != "salesforce":
        raise typer.BadParameter("only 'salesforce' has a describe to compare with")
    _against_org(config, mappings.destinations["salesforce"])


def _against_org(config: Path | None, mapping: Any) -> None:
    import asyncio

    import httpx

    from dispatcher import daemon
    from dispatcher.config import SalesforceDestinationConfig
    from dispatcher.config import load as load_config
    from dispatcher.core.errors import DeliveryError

    settings = load_config(config)
    org = next(
        (d for d in settings.destinations.values() if isinstance(d, SalesforceDestinationConfig)),
        None,
    )
    if org is None:
        raise typer.BadParameter("the configuration has no salesforce destination to compare with")
    try:
        findings = asyncio.run(daemon.org_drift(org, mapping))
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
