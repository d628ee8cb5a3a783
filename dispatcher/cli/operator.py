"""Operator commands: status, dead letters, retry, cancel, replay and a message's history.

Thin wrappers over the SQL functions in ``sql/functions/operator.sql`` (see
``dispatcher.ops.messages``), so a DBA's SQL and an operator's command do the same thing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dispatcher.cli.options import DatabaseUrl, DataDir, connect
from dispatcher.core.redact import mask
from dispatcher.ops import messages

commands = typer.Typer()
console = Console()
MAX_ID = 2**63 - 1  # message ids are bigint
MessageId = Annotated[int, typer.Argument(min=1, max=MAX_ID, show_default=False)]


def register(app: typer.Typer) -> None:
    app.registered_commands.extend(commands.registered_commands)


@commands.command("status")
def status_command(
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Backlog and lag per destination (from the outbox.lag and outbox.backlog views)."""
    with connect(database_url, data_dir) as conn:
        report = messages.status(conn)
    if as_json:
        typer.echo(mask(json.dumps(report, indent=2)))
        return
    lag = Table(title="Lag per destination")
    for column in ("destination", "undelivered", "oldest undelivered", "paused until"):
        lag.add_column(column)
    for row in report["destinations"]:
        lag.add_row(
            row["destination"],
            str(row["undelivered"]),
            f"{row['oldest_undelivered_seconds']:.1f} s",
            row["paused_until"] or "",
        )
    console.print(lag)
    backlog = Table(title="Backlog")
    for column in ("destination", "status", "messages", "oldest", "next retry"):
        backlog.add_column(column)
    for row in report["backlog"]:
        backlog.add_row(
            row["destination"],
            row["status"],
            str(row["messages"]),
            f"{row['oldest_age_seconds']:.1f} s",
            row["next_retry_at"] or "",
        )
    console.print(backlog)


@commands.command("dead")
def dead_command(
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
    destination: Annotated[str | None, typer.Option(help="Only this destination.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Newest N dead letters.")] = 50,
) -> None:
    """Dead letters with the destination's error code and message (outbox.dead_letters)."""
    with connect(database_url, data_dir) as conn:
        if destination is not None:
            _known(conn, destination)
        rows = messages.dead_letters(conn, destination, limit)
    table = Table(title=f"Dead letters ({len(rows)} shown)")
    for column in ("id", "destination", "event", "code", "message", "attempts", "last attempt"):
        table.add_column(column)
    for mid, dest, event, code, message, attempts, last in rows:
        table.add_row(
            str(mid),
            dest,
            event,
            code or "",
            mask(message or "")[:80],
            str(attempts),
            last.isoformat(timespec="seconds") if last else "",
        )
    console.print(table)


@commands.command("retry")
def retry_command(
    message_id: Annotated[
        int | None, typer.Argument(min=1, max=MAX_ID, help="The dead message to send again.")
    ] = None,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
    dead: Annotated[
        bool, typer.Option("--dead", help="Every dead message of --destination.")
    ] = False,
    destination: Annotated[str | None, typer.Option(help="With --dead: the destination.")] = None,
    error_code: Annotated[
        str | None, typer.Option(help="With --dead: only this error code.")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why; kept in the audit trail.")] = None,
) -> None:
    """Send dead (or cancelled) messages again, after fixing the cause."""
    if (message_id is None) == (not dead):
        raise typer.BadParameter("give a message id, or --dead --destination NAME")
    with connect(database_url, data_dir) as conn:
        if message_id is not None:
            done = messages.retry(conn, message_id, reason)
            console.print(
                f"message {message_id} "
                + ("queued again" if done else "was not dead or cancelled; unchanged")
            )
            raise typer.Exit(0 if done else 1)
        if destination is None:
            raise typer.BadParameter("--dead needs --destination")
        _known(conn, destination)
        count = messages.retry_dead(conn, destination, error_code, reason)
    console.print(f"{count} dead message(s) of {destination} queued again")


@commands.command("cancel")
def cancel_command(
    message_id: Annotated[int, typer.Argument(min=1, max=MAX_ID, help="The message to stop.")],
    reason: Annotated[str, typer.Option(help="Why; required, kept in the audit trail.")],
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Cancel a message for good (it stops blocking its ordering key)."""
    if not reason.strip():
        raise typer.BadParameter("say why: it is kept in the audit trail", param_hint="--reason")
    with connect(database_url, data_dir) as conn:
        done = messages.cancel(conn, message_id, reason)
    console.print(
        f"message {message_id} " + ("cancelled" if done else "was already finished; unchanged")
    )
    raise typer.Exit(0 if done else 1)


@commands.command("replay")
def replay_command(
    destination: Annotated[str, typer.Option(help="Destination to replay to.")],
    since: Annotated[datetime, typer.Option(help="Replay messages created at or after this time.")],
    until: Annotated[
        datetime | None, typer.Option(help="...and before this time (default now).")
    ] = None,
    event_type: Annotated[str | None, typer.Option(help="Only this event type.")] = None,
    reason: Annotated[str | None, typer.Option(help="Why; kept in the audit trail.")] = None,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Publish delivered messages again in their original order (a backfill after a restore)."""
    if until is not None and _utc(until) <= _utc(since):
        raise typer.BadParameter(
            f"{until.isoformat()} is not after --since {since.isoformat()}", param_hint="--until"
        )
    with connect(database_url, data_dir) as conn:
        _known(conn, destination)
        count = messages.replay(
            conn, destination, _utc(since), _utc(until) if until else None, event_type, reason
        )
    console.print(f"{count} message(s) published again to {destination}")


@commands.command("history")
def history_command(
    message_id: Annotated[int, typer.Argument(min=1, max=MAX_ID, help="The message.")],
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """A message's life: published, every attempt, every operator action."""
    with connect(database_url, data_dir) as conn:
        rows = messages.history(conn, message_id)
    if not rows:
        console.print(f"[red]no message {message_id}[/red]")
        raise typer.Exit(1)
    table = Table(title=f"Message {message_id}")
    for column in ("at", "kind", "#", "worker", "outcome", "http", "code", "message", "ms"):
        table.add_column(column)
    for at, kind, number, worker, outcome, http, code, message, ms, _version in rows:
        table.add_row(
            at.isoformat(timespec="seconds"),
            kind,
            str(number or ""),
            worker or "",
            outcome or "",
            str(http or ""),
            code or "",
            mask(message or "")[:60],
            f"{ms:.0f}" if ms is not None else "",
        )
    console.print(table)


def _known(conn: Any, destination: str) -> None:
    """An operator's typo must not read as "0 messages": name the destinations there are."""
    known = messages.destination_names(conn)
    if destination not in known:
        raise typer.BadParameter(
            f"no destination {destination!r}; known: {', '.join(known)}",
            param_hint="--destination",
        )


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
