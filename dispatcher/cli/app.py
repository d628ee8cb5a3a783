"""The ``outbox`` command: the root of the command line, with each group in its own module.

Importing this module loads typer, rich and the option types, nothing else: every command
imports what it works with inside its body, so ``outbox --help`` and an operator command stay
quick, and the sandboxes load only for ``outbox demo`` and ``outbox sandbox``.
"""

from __future__ import annotations

import typer

from dispatcher.cli import db, demo, jobs, mappings, operator, service

app = typer.Typer(
    help="A transactional outbox on PostgreSQL: storefront → Salesforce and Thinkific.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(db.commands, name="db")
app.add_typer(jobs.commands, name="jobs")
app.add_typer(mappings.commands, name="mappings")
service.register(app)  # migrate, run
demo.register(app)  # sandbox, demo
operator.register(app)  # status, dead, retry, cancel, replay, history

if __name__ == "__main__":
    app()
