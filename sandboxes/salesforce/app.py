"""``create_app``: the Salesforce sandbox as a Starlette app, for ASGITransport or uvicorn.

Each call builds a fresh org (schema, seeded catalog, tokens, counters, faults), reachable as
``app.state.sandbox``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandboxes.salesforce import admin, composite, query, sobject_collections, sobjects
from sandboxes.salesforce.auth import bearer_is_valid, token_endpoint
from sandboxes.salesforce.errors import DAILY_LIMIT, INVALID_SESSION, NOT_FOUND, ApiError
from sandboxes.salesforce.faults import FaultMiddleware
from sandboxes.salesforce.resources import Call, Reply, Router, resource
from sandboxes.salesforce.seed import load_seed, plant
from sandboxes.salesforce.settings import SandboxSettings
from sandboxes.salesforce.state import SandboxState
from sandboxes.salesforce.usage import limits_body

_VERSION = re.compile(r"v(\d+\.\d)")
_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"]
_SEASONS = ("Winter", "Spring", "Summer")


def create_app(settings: SandboxSettings | None = None) -> Starlette:
    settings = settings or SandboxSettings()
    state = SandboxState.build(settings)
    if settings.seed_catalog:
        plant(state.store, load_seed(), settings.clock())
    app = Starlette(
        routes=[
            Route("/services/oauth2/token", token_endpoint, methods=["POST"]),
            Route("/services/data", _versions, methods=["GET"]),
            Route("/services/data/", _versions, methods=["GET"]),
            Route("/services/data/{version}", _data_api, methods=_METHODS),
            Route("/services/data/{version}/{rest:path}", _data_api, methods=_METHODS),
            *admin.ROUTES,
        ],
        middleware=[Middleware(FaultMiddleware, faults=state.faults)],
    )
    app.state.sandbox = state
    app.state.router = Router(
        sobjects.RESOURCES
        + sobject_collections.RESOURCES
        + composite.RESOURCES
        + query.RESOURCES
        + (
            resource("GET", "", "resources", _resources),
            resource("GET", "/limits", "limits", _limits),
        )
    )
    return app


def release_label(version: str) -> str:
    """v59.0 is Winter '24; three releases a year before and after it."""
    offset = int(float(version)) - 59
    return f"{_SEASONS[offset % 3]} '{24 + offset // 3}"


async def _versions(request: Request) -> Response:
    """``GET /services/data/``: no session needed, no Sforce-Limit-Info (API-NOTES §1.8)."""
    versions = sorted(request.app.state.sandbox.settings.api_versions, key=float)
    return JSONResponse(
        [{"label": release_label(v), "url": f"/services/data/v{v}", "version": v} for v in versions]
    )


async def _data_api(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    router: Router = request.app.state.router
    found = _VERSION.fullmatch(request.path_params["version"])
    if found is None or float(found.group(1)) > float(state.settings.latest_version):
        return _json(404, [NOT_FOUND.top_level()], None)
    if not bearer_is_valid(state, request.headers.get("authorization", "")):
        return _json(401, [INVALID_SESSION.top_level()], None)
    if state.usage.exhausted():
        return _json(403, [DAILY_LIMIT.top_level()], state.usage.header())
    state.usage.count()
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("latin-1").split("?")[0][len("/services/data/" + found.group(0)) :]
    state.calls[router.name(request.method, path)] += 1
    try:
        body = await _body(request)
    except ValueError:
        error = ApiError("JSON_PARSER_ERROR", "The request body is not valid JSON")
        return _json(400, [error.top_level()], state.usage.header())
    call = Call(
        state=state, router=router, version=found.group(1), method=request.method, path=path,
        query=dict(request.query_params), headers=dict(request.headers), body=body,
        host=str(request.base_url).rstrip("/"),
    )  # fmt: skip
    reply = router.dispatch(call)
    return _reply(reply, state.usage.header())


async def _body(request: Request) -> Any:
    raw = await request.body()
    return json.loads(raw) if raw.strip() else None


def _reply(reply: Reply, usage: str) -> Response:
    headers = {**reply.headers, "Sforce-Limit-Info": usage}
    if reply.body is None:
        return Response(status_code=reply.status, headers=headers)
    return _json(reply.status, reply.body, usage, headers)


def _json(
    status: int, body: Any, usage: str | None, headers: dict[str, str] | None = None
) -> Response:
    headers = dict(headers or {})
    if usage is not None:
        headers["Sforce-Limit-Info"] = usage
    return JSONResponse(body, status_code=status, headers=headers)


def _resources(call: Call, _: dict[str, str]) -> Reply:
    """The version root (sf_resources_by_version.json), limited to what the sandbox serves."""
    settings = call.state.settings
    names = ("sobjects", "query", "queryAll", "composite", "limits")
    body: dict[str, Any] = {name: f"{call.base}/{name}" for name in names}
    body["identity"] = f"{call.host}/id/{settings.org_id}/{settings.user_id}"
    return Reply(200, body)


def _limits(call: Call, _: dict[str, str]) -> Reply:
    return Reply(200, limits_body(call.state.usage))
