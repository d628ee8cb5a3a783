"""The ``outbox`` command's entry point: a stop signal is honoured from the first instant.

Loading the command line takes most of a second (alembic, pydantic, httpx). A SIGTERM in that
window would otherwise kill the process by signal. Until the daemon installs its own handlers,
SIGTERM exits at once: with status 0 for ``outbox run`` (a supervisor stopping a dispatcher that
has not claimed anything yet), and 143 for any other command, which did not finish its work.

It exits with ``os._exit`` rather than by raising ``SystemExit``: an exception raised by a
signal handler lands wherever the main thread happens to be, and where that is a finaliser or
a callback Python reports it as ignored and carries on, so the command would run to its end and
exit 0. Nothing is open that needs closing yet; a transaction cut short is rolled back by the
server, as it would be for a process killed by the signal.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType


def main() -> None:
    command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
    status = 0 if command == "run" else 128 + signal.SIGTERM

    def stop_before_start(signum: int, frame: FrameType | None) -> None:
        os._exit(status)

    signal.signal(signal.SIGTERM, stop_before_start)
    from dispatcher.cli.app import app
    from dispatcher.cli.errors import run

    sys.exit(run(app))
