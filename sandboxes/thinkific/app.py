"""``create_app``: the Thinkific sandbox as a Starlette app, for ``httpx.ASGITransport`` or
uvicorn.

Each call builds a fresh site (seeded catalog, empty users and enrollments, rate-limit window,
faults, counters), reachable as ``app.state.sandbox``; nothing is shared between apps.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount

from sandboxes.thinkific import (
    admin,
    catalog,
    enrollments,
    external_orders,
    groups,
    users,
)
from sandboxes.thinkific.gate import Gate
from sandboxes.thinkific.settings import API_BASE, SandboxSettings
from sandboxes.thinkific.state import SandboxState
from sandboxes.thinkific.wire import RECORD_NOT_FOUND


def create_app(settings: SandboxSettings | None = None) -> Starlette:
    state = SandboxState.build(settings or SandboxSettings())
    api = (
        users.ROUTES + enrollments.ROUTES + catalog.ROUTES + groups.ROUTES
        + external_orders.ROUTES
    )  # fmt: skip
    app = Starlette(
        routes=[Mount(API_BASE, routes=api), *admin.ROUTES],
        middleware=[Middleware(Gate, state=state)],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.sandbox = state
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    """An unknown path or id answers like a missing record, in JSON; a wrong method is a 405.

    The wording for a path the API does not have is an assumption: only records are documented.
    """
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    message = RECORD_NOT_FOUND if status == 404 else str(getattr(exc, "detail", "Error"))
    return JSONResponse({"error": message}, status_code=status)
