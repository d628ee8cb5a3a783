"""sObject Collections: up to 200 records a call, with per-record results in request order.

API-NOTES §1.3. Results are SaveResult/UpsertResult objects whose errors use ``statusCode``.
With ``allOrNone`` one failure rolls every record back and the others report
ALL_OR_NONE_OPERATION_ROLLED_BACK (sf_collections_allornone_rollback.json).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from sandboxes.salesforce.errors import (
    ROLLED_BACK,
    ApiError,
    RequestFailed,
    unable_to_lock,
)
from sandboxes.salesforce.records import record_json
from sandboxes.salesforce.resources import Call, Reply, resource
from sandboxes.salesforce.schema import ObjectSpec
from sandboxes.salesforce.sobjects import external_key
from sandboxes.salesforce.writes import (
    RecordFailed,
    Saved,
    SeveralMatches,
    create,
    delete,
    update,
    upsert,
)

MAX_RECORDS = 200
TOO_MANY = ApiError(
    "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call"
)
# Salesforce's answer to a record without a concrete type; reused for a type that does not
# match the URL (that wording is not verified).
NO_TYPE = ApiError("INVALID_TYPE", "Must send a concrete entity type.")

Write = Callable[[], Saved]


def _records(call: Call) -> tuple[list[dict[str, Any]], bool]:
    body = call.json_object()
    records = body.get("records")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise RequestFailed(400, ApiError("JSON_PARSER_ERROR", "records must be a list of objects"))
    if len(records) > MAX_RECORDS:
        raise RequestFailed(400, TOO_MANY)
    return records, bool(body.get("allOrNone", False))


def _type_of(call: Call, record: dict[str, Any], expected: ObjectSpec | None = None) -> ObjectSpec:
    declared = (record.get("attributes") or {}).get("type")
    if not isinstance(declared, str):
        raise RequestFailed(400, NO_TYPE)
    spec = call.sobject(declared)
    if expected is not None and spec.name != expected.name:
        raise RequestFailed(400, NO_TYPE)
    return spec


def _run(call: Call, writes: list[Write], all_or_none: bool, *, upserts: bool) -> Reply:
    """Apply each write in order; roll all back when ``allOrNone`` and any failed."""
    store = call.state.store
    savepoint = store.savepoint()
    results: list[dict[str, Any]] = []
    for write in writes:
        results.append(_one(call, write, upserts))
    failed = any(not result["success"] for result in results)
    if all_or_none and failed:
        store.rollback(savepoint)
        results = [_rolled_back(r) if r["success"] else r for r in results]
    else:
        store.release()
    return Reply(200, results)


def _one(call: Call, write: Write, upserts: bool) -> dict[str, Any]:
    if call.state.faults.draw_record_lock(call.path):
        return _failure(unable_to_lock(""), upserts)
    try:
        saved = write()
    except RecordFailed as failed:
        return _failure(failed.errors[0], upserts, *failed.errors[1:])
    except RequestFailed as failed:
        return _failure(failed.errors[0], upserts)
    except SeveralMatches as several:
        ids = ", ".join(r["Id"] for r in several.records)
        message = f"more than one record found for external id field: [{ids}]"
        return _failure(ApiError("DUPLICATE_EXTERNAL_ID", message, ()), upserts)
    result: dict[str, Any] = {"id": saved.id, "success": True, "errors": []}
    if upserts:
        result["created"] = saved.created
    return result


def _failure(error: ApiError, upserts: bool, *more: ApiError) -> dict[str, Any]:
    result: dict[str, Any] = {
        "success": False,
        "errors": [e.per_record() for e in (error, *more)],
    }
    if upserts:
        result["created"] = False
    return result


def _rolled_back(result: dict[str, Any]) -> dict[str, Any]:
    return {**result, "success": False, "errors": [ROLLED_BACK.per_record()]}


def _create_many(call: Call, _: dict[str, str]) -> Reply:
    """``POST /composite/sobjects``: mixed types allowed; a record may not carry an Id."""
    records, all_or_none = _records(call)
    specs = [_type_of(call, record) for record in records]
    writes: list[Write] = [
        partial(create, call.state, spec, record)
        for spec, record in zip(specs, records, strict=True)
    ]
    return _run(call, writes, all_or_none, upserts=False)


def _update_many(call: Call, _: dict[str, str]) -> Reply:
    """``PATCH /composite/sobjects``: each record names its Id."""
    records, all_or_none = _records(call)
    specs = [_type_of(call, record) for record in records]
    writes: list[Write] = [
        partial(update, call.state, spec, _id_of(record), _without_id(record))
        for spec, record in zip(specs, records, strict=True)
    ]
    return _run(call, writes, all_or_none, upserts=False)


def _id_of(record: dict[str, Any]) -> str:
    return str(next((v for k, v in record.items() if k.lower() == "id"), ""))


def _without_id(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k.lower() != "id"}


def _upsert_many(call: Call, params: dict[str, str]) -> Reply:
    spec = call.sobject(params["sobject"])
    key = external_key(spec, params["field"])
    records, all_or_none = _records(call)
    for record in records:
        _type_of(call, record, spec)

    def write(record: dict[str, Any]) -> Saved:
        values = {k: v for k, v in record.items() if k.lower() != key.name.lower()}
        value = next((v for k, v in record.items() if k.lower() == key.name.lower()), None)
        if value is None:
            # Wording assumed: a record without its external-ID value cannot be matched.
            raise RecordFailed(ApiError("MISSING_ARGUMENT", f"{key.name} not specified", ()))
        return upsert(call.state, spec, key, value, values)

    writes: list[Write] = [partial(write, record) for record in records]
    return _run(call, writes, all_or_none, upserts=True)


def _retrieve_many(call: Call, params: dict[str, str]) -> Reply:
    """``GET /composite/sobjects/{T}?ids=…&fields=…``: null for an id that matches nothing."""
    spec = call.sobject(params["sobject"])
    ids = [i for i in call.query.get("ids", "").split(",") if i]
    if len(ids) > 2000:
        raise RequestFailed(400, TOO_MANY)
    names = [n for n in call.query.get("fields", "").split(",") if n]
    fields = tuple(f for f in (spec.field(n) for n in names) if f is not None) or None
    found = [call.state.store.get(spec.name, i) for i in ids]
    return Reply(200, [record_json(spec, r, call.base, fields) if r else None for r in found])


def _delete_many(call: Call, _: dict[str, str]) -> Reply:
    ids = [i for i in call.query.get("ids", "").split(",") if i]
    if len(ids) > MAX_RECORDS:
        raise RequestFailed(400, TOO_MANY)
    all_or_none = call.query.get("allOrNone", "").lower() == "true"

    def remove(record_id: str) -> Saved:
        spec = call.state.schema.by_prefix(record_id)
        if spec is None:
            raise RecordFailed(ApiError("MALFORMED_ID", f"malformed id {record_id}", ()))
        delete(call.state, spec, record_id)
        return Saved(record_id, created=False)

    writes: list[Write] = [partial(remove, record_id) for record_id in ids]
    return _run(call, writes, all_or_none, upserts=False)


RESOURCES = (
    resource("POST", "/composite/sobjects", "collections.create", _create_many),
    resource("PATCH", "/composite/sobjects", "collections.update", _update_many),
    resource("DELETE", "/composite/sobjects", "collections.delete", _delete_many),
    resource("GET", "/composite/sobjects/{sobject}", "collections.retrieve", _retrieve_many),
    resource("PATCH", "/composite/sobjects/{sobject}/{field}", "collections.upsert", _upsert_many),
)
