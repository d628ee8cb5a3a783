"""The daemon's HTTP side: /metrics, /healthz, /readyz, the status page and the console.

/metrics and the health checks are always open (Prometheus and load balancers call them); the
pages and the console's actions are guarded by ``access.Access`` (see ``console``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from psycopg_pool import PoolTimeout
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from dispatcher.core.metrics import Metrics
from dispatcher.core.redact import mask
from dispatcher.ops.console import Console, page, refuse
from dispatcher.ops.glance import Glance
from dispatcher.ops.sampler import Sampler

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
    glance = Glance(console.pool, metrics, console.clock)

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
            body["database_error"] = mask(sampler.snapshot.error)
        return JSONResponse(body, status_code=200 if ready else 503)

    async def status_page(request: Request) -> Response:
        viewer = console.viewer(request)
        if isinstance(viewer, Response):
            return viewer
        window = request.query_params.get("window", "hour")
        body = await glance.render(sampler.snapshot, worker_id, window)
        return page("outbox dispatcher", body, viewer, "/", refresh=PAGE_REFRESH_SECONDS)

    async def database_down(request: Request, exc: Exception) -> Response:
        name = type(exc).__name__
        return refuse(503, f"The database did not answer ({name}); reload once it is back.")

    return Starlette(
        exception_handlers={psycopg.OperationalError: database_down, PoolTimeout: database_down},
        routes=[
            Route("/metrics", metrics_endpoint),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/", status_page),
            *console.routes(),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
    )
