"""The daemon's HTTP side: /metrics, /healthz, /readyz, the status page and the console.

/metrics and the health checks are always open (Prometheus and load balancers call them); the
pages and the console's actions are guarded by ``access.Access`` (see ``console``).
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from dispatcher.metrics import Metrics
from dispatcher.ops.console import Console, page
from dispatcher.ops.status import Sampler

STATIC = Path(__file__).parent / "static"

PAGE_REFRESH_SECONDS = 5


def create_app(
    metrics: Metrics,
    sampler: Sampler,
    console: Console,
    *,
    mappings_ok: Callable[[], bool],
    worker_id: str,
) -> Starlette:
    async def metrics_endpoint(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "alive", "worker": worker_id})

    async def readyz(request: Request) -> JSONResponse:
        checks = {
            "database": sampler.snapshot.fresh(within=3 * sampler.interval + 5),
            "mappings": mappings_ok(),
        }
        ready = all(checks.values())
        body = {"status": "ready" if ready else "not ready", "checks": checks}
        if not checks["database"] and sampler.snapshot.error:
            body["database_error"] = sampler.snapshot.error
        return JSONResponse(body, status_code=200 if ready else 503)

    async def status_page(request: Request) -> Response:
        viewer = console.viewer(request)
        if isinstance(viewer, Response):
            return viewer
        return page(
            "outbox dispatcher",
            render_page(sampler, worker_id),
            viewer,
            "/",
            refresh=PAGE_REFRESH_SECONDS,
        )

    return Starlette(
        routes=[
            Route("/metrics", metrics_endpoint),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/", status_page),
            *console.routes(),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]
    )


def render_page(sampler: Sampler, worker_id: str) -> str:
    snap = sampler.snapshot
    lag = _table(
        "Destinations",
        ["destination", "undelivered", "oldest undelivered", "paused until"],
        [(d, n, f"{age:.1f} s", paused or "") for d, age, n, paused in snap.lag],
        "lag",
    )
    backlog = _table(
        "Backlog",
        ["destination", "status", "messages", "oldest", "next retry"],
        [(d, s, n, f"{age:.1f} s", nxt or "") for d, s, n, age, nxt in snap.backlog],
        "backlog",
    )
    dead = _table(
        "Dead letters",
        ["id", "destination", "event", "code", "message", "attempts", "last attempt"],
        [row for row in snap.dead],
        "dead",
    )
    attempts = _table(
        "Recent attempts",
        ["finished", "destination", "message", "event", "outcome", "http", "code", "ms"],
        [(*row[:7], f"{row[7]:.0f}") for row in snap.attempts],
        "attempts",
    )
    return f"""<h1>Outbox dispatcher</h1>
<p id="worker">worker {escape(worker_id)} · refreshes every {PAGE_REFRESH_SECONDS} s</p>
{lag}{backlog}{dead}{attempts}"""


def _table(caption: str, headers: list[str], rows: list[tuple[Any, ...]], ident: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = (
        "".join(
            "<tr>"
            + "".join(f"<td>{escape(str(cell if cell is not None else ''))}</td>" for cell in row)
            + "</tr>"
            for row in rows
        )
        or f'<tr><td colspan="{len(headers)}">none</td></tr>'
    )
    return f'<table id="{ident}"><caption>{escape(caption)}</caption><tr>{head}</tr>{body}</table>'
