"""How a failed ``outbox`` command reads: one line naming the problem, and a non-zero status.

Every command runs through ``run``; whatever it raises becomes one line on stderr (masked like
a log line), never a traceback. Exit status 2 is a wrong call or configuration, 1 a failure of
the work itself (a refused operator action, an unreachable database or org).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import typer

from dispatcher.core.redact import mask


def run(app: Callable[..., Any]) -> int:
    try:
        result = app(standalone_mode=False)
    except typer.TyperException as exc:  # a wrong call: usage, a bad value, a bad option
        if type(exc).__name__ == "NoArgsIsHelpError":  # the help is already on the screen
            return exc.exit_code
        hint = getattr(exc, "param_hint", None) or _param_name(exc)
        text = exc.format_message()
        return _say(f"{hint}: {text}" if hint and hint not in text else text, exc.exit_code)
    except typer.Abort:
        return _say("interrupted", 130)
    except KeyboardInterrupt:
        return _say("interrupted", 130)
    except Exception as exc:  # classified by what it is; never a traceback
        return _say(*_classify(exc))
    return result if isinstance(result, int) else 0


def _classify(exc: Exception) -> tuple[str, int]:
    """The line and status for what a command raised. The error types are imported here, on
    failure, so a command that never touched the network or the database does not load them."""
    import httpx
    import psycopg

    from dispatcher.cli.database import DatabaseUrlError
    from dispatcher.core.errors import ConfigError, DeliveryError
    from dispatcher.mapping import MappingConfigError

    if isinstance(exc, ConfigError | MappingConfigError | DatabaseUrlError):
        return str(exc), 2
    if isinstance(exc, psycopg.Error):
        return database_problem(exc), 1
    if isinstance(exc, httpx.HTTPError):
        return f"cannot reach {_target(exc)}: {type(exc).__name__}: {exc}", 1
    if isinstance(exc, DeliveryError):
        return str(exc), 1
    return f"{type(exc).__name__}: {exc}", 1  # the last line of defence: still one line


def database_problem(exc: Any) -> str:
    """The server's own words (``outbox.retry: no message 7``) and its hint, on one line."""
    import psycopg

    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) or str(exc).strip().splitlines()[0]
    hint = getattr(diag, "message_hint", None)
    if isinstance(exc, psycopg.OperationalError) and not getattr(diag, "sqlstate", None):
        primary = f"cannot connect to the database: {primary}"
    return f"{primary} ({hint})" if hint else primary


def _param_name(exc: Exception) -> str | None:
    param = getattr(exc, "param", None)
    opts = getattr(param, "opts", None)
    return str(opts[0]) if opts else None


def _target(exc: Any) -> str:
    try:
        return str(exc.request.url.copy_with(query=None))
    except RuntimeError:  # no request attached
        return "the server"


def _say(text: str, status: int) -> int:
    lines = [line.strip() for line in mask(text).strip().splitlines() if line.strip()]
    if len(lines) <= 1:
        sys.stderr.write(f"outbox: {lines[0] if lines else 'failed'}\n")
    else:  # a configuration's problems: one line each, all of them
        sys.stderr.write("outbox: " + "\n  ".join(lines) + "\n")
    return status
