"""sObject resources: describe, create, read, update, delete, and upsert by external ID.

Status codes and bodies from API-NOTES §1.2, §1.6 and §1.12: create 201 ``{id, success,
errors}`` with a Location header (sf_sobject_create_response.json); PATCH/DELETE 204; upsert
201 created:true, 200 created:false from v46, 204 before; 300 on several matches; 404
NOT_FOUND for an unknown object or external-ID field.
"""

from __future__ import annotations

from typing import Any

from sandboxes.salesforce.describe import (
    describe_basic,
    describe_global,
    describe_object,
)
from sandboxes.salesforce.errors import NOT_FOUND, ApiError, RequestFailed
from sandboxes.salesforce.records import record_json
from sandboxes.salesforce.resources import Call, Reply, resource
from sandboxes.salesforce.schema import FieldSpec, ObjectSpec
from sandboxes.salesforce.writes import (
    RecordFailed,
    SeveralMatches,
    create,
    delete,
    update,
    upsert,
)

UPSERT_200_SINCE = 46.0


def saved_body(record_id: str, created: bool | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": record_id, "success": True, "errors": []}
    if created is not None:
        body["created"] = created
    return body


def location(call: Call, spec: ObjectSpec, record_id: str) -> dict[str, str]:
    return {"Location": f"{call.base}/sobjects/{spec.name}/{record_id}"}


def _global(call: Call, _: dict[str, str]) -> Reply:
    return Reply(200, describe_global(call.state.schema, call.base))


def _basic(call: Call, params: dict[str, str]) -> Reply:
    return Reply(200, describe_basic(call.sobject(params["sobject"]), call.base))


def _describe(call: Call, params: dict[str, str]) -> Reply:
    spec = call.sobject(params["sobject"])
    return Reply(200, describe_object(spec, call.state.schema, call.base))


def _create(call: Call, params: dict[str, str]) -> Reply:
    spec = call.sobject(params["sobject"])
    try:
        saved = create(call.state, spec, call.json_object())
    except RecordFailed as failed:
        raise RequestFailed(400, *failed.errors) from None
    return Reply(201, saved_body(saved.id), location(call, spec, saved.id))


def _create_with_null_id(call: Call, params: dict[str, str]) -> Reply:
    """``POST /sobjects/{T}/Id`` (API 37+): an upsert on Id with a null value, i.e. a create."""
    if params["field"].lower() != "id":
        raise RequestFailed(404, NOT_FOUND)
    return _create(call, params)


def _read(call: Call, params: dict[str, str]) -> Reply:
    spec = call.sobject(params["sobject"])
    record = call.state.store.get(spec.name, params["id"])
    if record is None:
        raise RequestFailed(404, NOT_FOUND)
    return Reply(200, record_json(spec, record, call.base, _chosen_fields(call, spec)))


def _chosen_fields(call: Call, spec: ObjectSpec) -> tuple[FieldSpec, ...] | None:
    names = [n.strip() for n in call.query.get("fields", "").split(",") if n.strip()]
    if not names:
        return None
    chosen = [spec.field(name) for name in names]
    if any(field is None for field in chosen):
        unknown = next(n for n, f in zip(names, chosen, strict=True) if f is None)
        message = f"No such column '{unknown}' on entity '{spec.name}'"
        raise RequestFailed(400, ApiError("INVALID_FIELD", message))
    return tuple(field for field in chosen if field is not None)


def _update(call: Call, params: dict[str, str]) -> Reply:
    spec = call.sobject(params["sobject"])
    try:
        update(call.state, spec, params["id"], call.json_object())
    except RecordFailed as failed:
        raise RequestFailed(400, *failed.errors) from None
    return Reply(204)


def _delete(call: Call, params: dict[str, str]) -> Reply:
    delete(call.state, call.sobject(params["sobject"]), params["id"])
    return Reply(204)


def external_key(spec: ObjectSpec, name: str) -> FieldSpec:
    key = spec.field(name)
    if key is None or not key.external_id:
        raise RequestFailed(404, NOT_FOUND)
    return key


def _upsert(call: Call, params: dict[str, str]) -> Reply:
    spec = call.sobject(params["sobject"])
    key = external_key(spec, params["field"])
    body = call.json_object()
    _refuse_keys_in_body(key, body)
    try:
        saved = upsert(
            call.state, spec, key, params["value"], body,
            update_only=call.query.get("updateOnly", "").lower() == "true",
        )  # fmt: skip
    except RecordFailed as failed:
        raise RequestFailed(400, *failed.errors) from None
    except SeveralMatches as several:
        return Reply(300, [f"{call.base}/sobjects/{spec.name}/{r['Id']}" for r in several.records])
    if saved.created:
        created = True if call.api_version >= UPSERT_200_SINCE else None
        return Reply(201, saved_body(saved.id, created), location(call, spec, saved.id))
    if call.api_version < UPSERT_200_SINCE:
        return Reply(204)
    return Reply(200, saved_body(saved.id, created=False), location(call, spec, saved.id))


def _refuse_keys_in_body(key: FieldSpec, body: dict[str, Any]) -> None:
    """The docs say Id or the external-ID field in an upsert body "generates an error".

    The exact error is not documented; the sandbox answers INVALID_FIELD naming the field.
    """
    for name in body:
        if name.lower() in ("id", key.name.lower()):
            message = f"{name}: not allowed in the body of an upsert; it is taken from the URL"
            raise RequestFailed(400, ApiError("INVALID_FIELD", message, (name,)))


def _read_by_key(call: Call, params: dict[str, str]) -> Reply:
    spec = call.sobject(params["sobject"])
    found = call.state.store.find(
        spec.name, external_key(spec, params["field"]).storage, params["value"]
    )
    if not found:
        raise RequestFailed(404, NOT_FOUND)
    if len(found) > 1:
        return Reply(300, [f"{call.base}/sobjects/{spec.name}/{r['Id']}" for r in found])
    return Reply(200, record_json(spec, found[0], call.base))


def _delete_by_key(call: Call, params: dict[str, str]) -> Reply:
    spec = call.sobject(params["sobject"])
    found = call.state.store.find(
        spec.name, external_key(spec, params["field"]).storage, params["value"]
    )
    if len(found) != 1:
        raise RequestFailed(404 if not found else 300, NOT_FOUND)
    delete(call.state, spec, found[0]["Id"])
    return Reply(204)


RESOURCES = (
    resource("GET", "/sobjects", "sobjects.describe_global", _global),
    resource("GET", "/sobjects/{sobject}", "sobjects.basic", _basic),
    resource("POST", "/sobjects/{sobject}", "sobjects.create", _create),
    resource("GET", "/sobjects/{sobject}/describe", "sobjects.describe", _describe),
    resource("POST", "/sobjects/{sobject}/{field}", "sobjects.create", _create_with_null_id),
    resource("GET", "/sobjects/{sobject}/{id}", "sobjects.read", _read),
    resource("PATCH", "/sobjects/{sobject}/{id}", "sobjects.update", _update),
    resource("DELETE", "/sobjects/{sobject}/{id}", "sobjects.delete", _delete),
    resource("PATCH", "/sobjects/{sobject}/{field}/{value}", "sobjects.upsert", _upsert),
    resource("GET", "/sobjects/{sobject}/{field}/{value}", "sobjects.read_by_key", _read_by_key),
    resource(
        "DELETE", "/sobjects/{sobject}/{field}/{value}", "sobjects.delete_by_key", _delete_by_key
    ),
)
