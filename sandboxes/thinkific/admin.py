"""``/__sandbox/...``: arm faults and look inside the site, for tests, demos and benchmarks.

None of these paths exist on Thinkific; they sit outside ``/api/public/v1``, so they are never
rate limited, faulted, authenticated or counted.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandboxes.thinkific.faults import FaultKind
from sandboxes.thinkific.state import SandboxState, state_of


class FaultRequest(BaseModel):
    """A fault rule, the outage switch, or both, in one request.

    ``count`` limits a rule to the next N matching requests; without it the rule stays armed
    until ``DELETE /__sandbox/faults``.
    """

    model_config = ConfigDict(extra="forbid")
    kind: FaultKind | None = None
    status: int | None = None
    probability: float = 1.0
    count: int | None = None
    latency_ms: int = 0
    path: str | None = None
    method: str | None = None
    outage: bool | None = None

    def apply(self, state: SandboxState) -> None:
        if self.kind is not None:
            state.faults.inject(
                self.kind, status=self.status, probability=self.probability,
                remaining=self.count, latency_ms=self.latency_ms, path=self.path,
                method=self.method,
            )  # fmt: skip
        if self.outage is not None:
            state.faults.outage = self.outage


async def faults(request: Request) -> Response:
    state = state_of(request)
    if request.method == "DELETE":
        state.faults.clear()
    elif request.method == "POST":
        try:
            FaultRequest.model_validate_json(await request.body()).apply(state)
        except (ValidationError, ValueError) as refused:
            return JSONResponse({"error": str(refused)}, status_code=400)
    return JSONResponse(state.faults.as_json())


async def enrollments(request: Request) -> Response:
    return JSONResponse(state_of(request).enrollment_report())


async def stats(request: Request) -> Response:
    return JSONResponse(state_of(request).stats())


ROUTES = [
    Route("/__sandbox/faults", faults, methods=["GET", "POST", "DELETE"]),
    Route("/__sandbox/enrollments", enrollments, methods=["GET"]),
    Route("/__sandbox/stats", stats, methods=["GET"]),
]
