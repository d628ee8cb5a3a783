"""uvicorn inside a process that owns its signals (the daemon, the sandboxes' thread)."""

from __future__ import annotations

import contextlib
from collections.abc import Generator

import uvicorn


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves SIGTERM and SIGINT to its host.

    uvicorn normally captures both while it serves and raises them again when it stops; in the
    daemon that turned one SIGTERM into two, and the second means "exit at once".
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield
