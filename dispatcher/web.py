"""The daemon's HTTP side: /metrics, /healthz, /readyz and a small read-only status page."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from dispatcher.metrics import Metrics
from dispatcher.redact import mask
from dispatcher.status import Sampler

PAGE_REFRESH_SECONDS = 5


def create_app(
    metrics: Metrics, sampler: Sampler, *, mappings_ok: Callable[[], bool], worker_id: str
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
            body["database_error"] = mask(sampler.snapshot.error)
        return JSONResponse(body, status_code=200 if ready else 503)

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(render_page(sampler, worker_id))

    return Starlette(
        routes=[
            Route("/metrics", metrics_endpoint),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/", page),
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
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{PAGE_REFRESH_SECONDS}">
<title>outbox dispatcher</title>
<style>
 body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #1d2433; }}
 table {{ border-collapse: collapse; margin-bottom: 2rem; }}
 th, td {{ border-bottom: 1px solid #d6dae3; padding: .3rem .8rem; text-align: left; }}
 th {{ background: #f1f3f7; }} caption {{ text-align: left; font-weight: 600; padding: .4rem 0; }}
</style></head>
<body><h1>Outbox dispatcher</h1>
<p id="worker">worker {escape(worker_id)} · refreshes every {PAGE_REFRESH_SECONDS} s</p>
{lag}{backlog}{dead}{attempts}
</body></html>"""


def _table(caption: str, headers: list[str], rows: list[tuple[Any, ...]], ident: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = (
        "".join(
            "<tr>"
            + "".join(
                f"<td>{escape(mask(str(cell if cell is not None else '')))}</td>" for cell in row
            )
            + "</tr>"
            for row in rows
        )
        or f'<tr><td colspan="{len(headers)}">none</td></tr>'
    )
    return f'<table id="{ident}"><caption>{escape(caption)}</caption><tr>{head}</tr>{body}</table>'


def _cell(value: Any) -> str:
    """Escaped for HTML, masked for secrets and personal data (an error text may echo them)."""
    return escape(mask(str(value if value is not None else "")))
