"""Create, update, upsert and delete of one record: shared by sObject, Collections and composite.

A refused record raises ``RecordFailed`` (the caller picks the envelope: a top-level array for
a single call, a per-record ``statusCode`` for Collections); a refused request raises
``RequestFailed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandboxes.salesforce.errors import NOT_FOUND, ApiError, RequestFailed
from sandboxes.salesforce.orders import delete_errors
from sandboxes.salesforce.schema import FieldSpec, ObjectSpec
from sandboxes.salesforce.state import SandboxState
from sandboxes.salesforce.store import Record
from sandboxes.salesforce.validation import SF_DATETIME, check, parse


class RecordFailed(Exception):
    def __init__(self, *errors: ApiError) -> None:
        super().__init__(errors[0].message)
        self.errors = errors


class SeveralMatches(Exception):
    """The external ID matched more than one record (HTTP 300 on a single upsert)."""

    def __init__(self, records: list[Record]) -> None:
        super().__init__(f"{len(records)} records match")
        self.records = records


@dataclass(frozen=True, slots=True)
class Saved:
    id: str
    created: bool


def create(
    state: SandboxState, spec: ObjectSpec, body: dict[str, Any], *, by: str | None = None
) -> Saved:
    values = _checked(state, spec, body, existing=None)
    audit = stamps(state, by)
    record_id = state.store.new_id(spec.key_prefix)
    # Fields the create leaves out get the org's default (describe ``defaultedOnCreate``).
    defaults = {f.storage: f.default for f in spec.fields if f.default is not None}
    created = {"CreatedDate": audit["SystemModstamp"], **audit}
    record = {**defaults, **values, **created, "Id": record_id, "IsDeleted": False}
    state.store.insert(spec.name, record)
    state.store.count_write(spec.name, _write_key(spec, record), created=True)
    return Saved(record_id, created=True)


def update(
    state: SandboxState,
    spec: ObjectSpec,
    record_id: str,
    body: dict[str, Any],
    *,
    by: str | None = None,
) -> Saved:
    """An API write runs as the token's user (``settings.user_id``, the integration user);
    ``by`` names another user, as the sandbox's admin endpoints do for a person's edit."""
    existing = state.store.get(spec.name, record_id)
    if existing is None:
        raise RequestFailed(404, NOT_FOUND)
    values = _checked(state, spec, body, existing=existing)
    record = state.store.update(spec.name, existing["Id"], {**values, **stamps(state, by)})
    state.store.count_write(spec.name, _write_key(spec, record), created=False)
    return Saved(record["Id"], created=False)


def stamps(state: SandboxState, by: str | None = None) -> dict[str, Any]:
    """The audit fields every change sets (Object Reference, "System Fields"): SystemModstamp
    and LastModifiedDate to now, LastModifiedById to the user who made it."""
    now = state.settings.clock().strftime(SF_DATETIME)
    return {
        "LastModifiedDate": now,
        "SystemModstamp": now,
        "LastModifiedById": by or state.settings.user_id,
    }


def upsert(
    state: SandboxState,
    spec: ObjectSpec,
    key: FieldSpec,
    value: Any,
    body: dict[str, Any],
    *,
    update_only: bool = False,
) -> Saved:
    """Match on ``key``; 0 matches create (unless ``update_only``), 1 updates, more is refused."""
    matches = state.store.find(spec.name, key.storage, value)
    if len(matches) > 1:
        raise SeveralMatches(matches)
    if matches:
        return update(state, spec, matches[0]["Id"], body)
    if update_only:
        raise RequestFailed(404, NOT_FOUND)
    return create(state, spec, {**body, key.name: value})


def delete(state: SandboxState, spec: ObjectSpec, record_id: str, *, by: str | None = None) -> None:
    """A deletion is a change too: it moves SystemModstamp, so ``queryAll`` over a
    ``SystemModstamp`` watermark sees the deleted row (API-NOTES §1.5)."""
    found = state.store.get(spec.name, record_id)
    if found is None:
        deleted = state.store.deleted[spec.name].get(record_id[:15])
        gone = ApiError("ENTITY_IS_DELETED", "entity is deleted", ())
        raise RequestFailed(404, gone if deleted else NOT_FOUND)
    refused = delete_errors(state.schema, state.store, spec, found)
    if refused:
        raise RequestFailed(400, *refused)
    state.store.update(spec.name, record_id, stamps(state, by))
    state.store.delete(spec.name, record_id)


def _checked(
    state: SandboxState, spec: ObjectSpec, body: dict[str, Any], existing: Record | None
) -> dict[str, Any]:
    schema = state.schema
    draft = parse(schema, spec, body)
    values, errors = check(schema, state.store, spec, draft, existing)
    if errors:
        raise RecordFailed(*errors)
    return values


def _write_key(spec: ObjectSpec, record: Record) -> Any:
    """Writes are counted per external ID (the first declared), or per Id where there is none."""
    for field in spec.external_ids():
        if record.get(field.storage) is not None:
            return record[field.storage]
    return record["Id"]
