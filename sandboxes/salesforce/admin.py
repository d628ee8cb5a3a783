"""``/__sandbox/...``: arm faults, revoke tokens and look inside the org, for tests and demos.

None of these paths exist on Salesforce; they sit outside ``/services`` so faults never hit them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandboxes.salesforce import merge, writes
from sandboxes.salesforce.errors import ApiError, RequestFailed
from sandboxes.salesforce.faults import FaultKind
from sandboxes.salesforce.records import record_json
from sandboxes.salesforce.schema import ObjectSpec
from sandboxes.salesforce.state import SandboxState


class _FieldRename(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sobject: str
    field: str
    new_name: str


class _PicklistRemoval(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sobject: str
    field: str
    value: str


class FaultRequest(BaseModel):
    """One change per request: a fault rule, the outage switch, or a schema drift."""

    model_config = ConfigDict(extra="forbid")
    kind: FaultKind | None = None
    probability: float = 1.0
    count: int | None = None
    latency_ms: int = 0
    path: str | None = None
    per_record: bool = False
    outage: bool | None = None
    rename_field: _FieldRename | None = None
    remove_picklist_value: _PicklistRemoval | None = None

    def apply(self, state: SandboxState) -> None:
        faults = state.faults
        if self.outage is not None:
            faults.outage = self.outage
        if self.rename_field is not None:
            rename = self.rename_field
            faults.rename_field(rename.sobject, rename.field, rename.new_name)
        if self.remove_picklist_value is not None:
            removal = self.remove_picklist_value
            faults.remove_picklist_value(removal.sobject, removal.field, removal.value)
        if self.kind is not None:
            faults.inject(
                self.kind, probability=self.probability, remaining=self.count,
                latency_ms=self.latency_ms, path=self.path, per_record=self.per_record,
            )  # fmt: skip


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


async def _faults(request: Request) -> Response:
    state = _state(request)
    if request.method == "DELETE":
        state.faults.clear()
    elif request.method == "POST":
        try:
            change = FaultRequest.model_validate_json(await request.body())
        except ValidationError as refused:
            return JSONResponse({"error": str(refused)}, status_code=400)
        change.apply(state)
        try:
            _ = state.schema
        except KeyError as unknown:
            state.faults.schema_changes.pop()
            return JSONResponse({"error": str(unknown)}, status_code=400)
    return JSONResponse(state.faults.as_json())


async def _stats(request: Request) -> Response:
    return JSONResponse(_state(request).stats())


async def _records(request: Request) -> Response:
    state = _state(request)
    spec = state.schema.get(request.path_params["sobject"])
    if spec is None:
        return JSONResponse({"error": "unknown sObject"}, status_code=404)
    base = "/services/data/v" + state.settings.latest_version
    rows = [record_json(spec, r, base) for r in state.store.rows(spec.name)]
    writes: dict[str, Any] = {k: vars(v) for k, v in state.store.writes[spec.name].items()}
    body = {"sobject": spec.name, "totalSize": len(rows), "records": rows, "writes": writes}
    return JSONResponse(body)


class _Merge(BaseModel):
    model_config = ConfigDict(extra="forbid")
    master: str
    merged: list[str]


def _refused(*errors: ApiError, status: int = 400) -> Response:
    return JSONResponse([e.top_level() for e in errors], status_code=status)


async def _record(request: Request) -> Response:
    """A person's change in the org: ``PATCH`` edits fields, ``DELETE`` deletes the record. Both
    run the org's validation and stamp the record with ``admin_user_id``, not the integration
    user, as a change made in the Salesforce UI would."""
    state = _state(request)
    spec: ObjectSpec | None = state.schema.get(request.path_params["sobject"])
    if spec is None:
        return JSONResponse({"error": "unknown sObject"}, status_code=404)
    record_id, user = request.path_params["record_id"], state.settings.admin_user_id
    try:
        if request.method == "DELETE":
            writes.delete(state, spec, record_id, by=user)
            return Response(status_code=204)
        body = await request.json()
        if not isinstance(body, dict):
            return JSONResponse({"error": "a JSON object of fields"}, status_code=400)
        writes.update(state, spec, record_id, body, by=user)
    except RequestFailed as failed:
        return _refused(*failed.errors, status=failed.status)
    except writes.RecordFailed as failed:
        return _refused(*failed.errors)
    found = state.store.get(spec.name, record_id)
    base = "/services/data/v" + state.settings.latest_version
    return JSONResponse(record_json(spec, found or {}, base))


async def _merge(request: Request) -> Response:
    """``POST /__sandbox/merge/{sobject}`` ``{"master": id, "merged": [ids]}``: a person merges
    duplicates (rules in ``merge.py``)."""
    state = _state(request)
    spec = state.schema.get(request.path_params["sobject"])
    if spec is None:
        return JSONResponse({"error": "unknown sObject"}, status_code=404)
    try:
        asked = _Merge.model_validate_json(await request.body())
    except ValidationError as refused:
        return JSONResponse({"error": str(refused)}, status_code=400)
    try:
        merge.merge(state, spec, asked.master, asked.merged, by=state.settings.admin_user_id)
    except RequestFailed as failed:
        return _refused(*failed.errors, status=failed.status)
    return JSONResponse({"master": asked.master, "merged": asked.merged})


async def _revoke(request: Request) -> Response:
    _state(request).revoke_tokens()
    return Response(status_code=204)


ROUTES = [
    Route("/__sandbox/faults", _faults, methods=["GET", "POST", "DELETE"]),
    Route("/__sandbox/stats", _stats, methods=["GET"]),
    Route("/__sandbox/records/{sobject}", _records, methods=["GET"]),
    Route("/__sandbox/records/{sobject}/{record_id}", _record, methods=["PATCH", "DELETE"]),
    Route("/__sandbox/merge/{sobject}", _merge, methods=["POST"]),
    Route("/__sandbox/tokens/revoke", _revoke, methods=["POST"]),
]
