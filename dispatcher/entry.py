"""The ``outbox`` command's entry point: a stop signal is honoured from the first instant.

Loading the command line takes most of a second (alembic, pydantic, httpx). A SIGTERM in that
window would otherwise kill the process by signal. Until the daemon installs its own handlers,
SIGTERM exits at once: with status 0 for ``outbox run`` (a supervisor stopping a dispatcher that
has not claimed anything yet), and 143 for any other command, which did not finish its work.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType


def main() -> None:
    command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
    status = 0 if command == "run" else 128 + signal.SIGTERM

    def stop_before_start(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(status)

    signal.signal(signal.SIGTERM, stop_before_start)
    from dispatcher.cli import app
    from dispatcher.cli_errors import run

    sys.exit(run(app))
