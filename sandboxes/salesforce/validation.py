"""Checks on every write, from the same schema describe serves.

Two stages, as on the platform: ``parse`` is JSON deserialization (an unknown field or a value
of the wrong JSON type refuses the whole request), ``check`` is the save (required fields,
lengths, restricted picklists, field access, references, uniqueness) and fails one record.
Messages follow API-NOTES §1.7 and bodies observed in client fixtures.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sandboxes.salesforce.errors import (
    ApiError,
    RequestFailed,
    json_parser_error,
    no_such_column,
)
from sandboxes.salesforce.ids import looks_like_id
from sandboxes.salesforce.orders import order_errors
from sandboxes.salesforce.schema import (
    NUMBER_TYPES,
    TEXT_TYPES,
    FieldSpec,
    ObjectSpec,
    Schema,
)
from sandboxes.salesforce.store import Record, Store

SF_DATETIME = "%Y-%m-%dT%H:%M:%S.000+0000"


@dataclass(frozen=True, slots=True)
class ParentRef:
    """``"Account": {"Storefront_Account_Id__c": "a-1"}``: set by the parent's external ID."""

    field: FieldSpec
    target: ObjectSpec
    key: FieldSpec
    value: Any


@dataclass(frozen=True, slots=True)
class Draft:
    values: dict[str, Any]
    named: tuple[FieldSpec, ...]
    parents: tuple[ParentRef, ...]


def parse(schema: Schema, spec: ObjectSpec, body: dict[str, Any]) -> Draft:
    values: dict[str, Any] = {}
    named: list[FieldSpec] = []
    parents: list[ParentRef] = []
    for key, raw in body.items():
        if key == "attributes":
            continue
        field = spec.field(key)
        if field is None and isinstance(raw, dict) and spec.relationship(key):
            parents.append(_parent_ref(schema, spec, key, raw))
            continue
        if field is None:
            raise RequestFailed(400, no_such_column(key, spec.name))
        values[field.storage] = coerce(field, raw)
        named.append(field)
    return Draft(values, tuple(named), tuple(parents))


def _parent_ref(schema: Schema, spec: ObjectSpec, key: str, raw: dict[str, Any]) -> ParentRef:
    field = spec.relationship(key)
    assert field is not None
    type_name = (raw.get("attributes") or {}).get("type") or field.reference_to[0]
    target = schema.get(type_name)
    keys = [k for k in raw if k != "attributes"]
    if target is None or len(keys) != 1:
        raise RequestFailed(400, no_such_column(key, spec.name))
    key_field = target.field(keys[0])
    if key_field is None:
        raise RequestFailed(400, no_such_column(keys[0], target.name))
    if not (key_field.external_id or key_field.name == "Id"):
        # Message assumed: the platform refuses a non-external-ID key; its wording is unverified.
        message = f"{key_field.name} is not an external ID or indexed field for {target.name}"
        raise RequestFailed(400, ApiError("INVALID_FIELD", message))
    return ParentRef(field, target, key_field, raw[keys[0]])


def coerce(field: FieldSpec, raw: Any) -> Any:
    """JSON value → stored value; a wrong JSON type is JSON_PARSER_ERROR for the whole request."""
    if raw is None:
        return None
    converter: Callable[[Any], Any] = _CONVERTERS.get(field.type, _text)
    try:
        return converter(raw)
    except (TypeError, ValueError, OverflowError):
        raise json_parser_error(_deserialize_message(field, raw)) from None


def _deserialize_message(field: FieldSpec, raw: Any) -> str:
    """``Cannot deserialize instance of date from VALUE_STRING value X or request may be ...``.

    The ``at [line:…, column:…]`` tail of the real message is left out: the sandbox does not
    keep token positions.
    """
    kind = {"currency": "double", "percent": "double", "int": "int"}.get(field.type, field.type)
    if field.type in TEXT_TYPES:
        kind = "string"
    token = {
        bool: "VALUE_TRUE" if raw else "VALUE_FALSE",
        str: "VALUE_STRING",
        dict: "START_OBJECT",
    }
    found = token.get(type(raw), "START_ARRAY" if isinstance(raw, list) else "VALUE_NUMBER_FLOAT")
    shown = "{" if isinstance(raw, dict) else "[" if isinstance(raw, list) else raw
    return (
        f"Cannot deserialize instance of {kind} from {found} value {shown} "
        "or request may be missing a required field"
    )


def _text(raw: Any) -> str:
    if isinstance(raw, dict | list):
        raise TypeError(raw)
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


def _number(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise TypeError(raw)
    number = float(raw)
    if not math.isfinite(number):
        raise ValueError(raw)
    return number


def _integer(raw: Any) -> int:
    number = _number(raw)
    if not number.is_integer():
        raise ValueError(raw)
    return int(number)


def _boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise TypeError(raw)


def _date(raw: Any) -> str:
    if not isinstance(raw, str):
        raise TypeError(raw)
    return date.fromisoformat(raw).isoformat() if len(raw) == 10 else _fail(raw)


def _datetime(raw: Any) -> str:
    if not isinstance(raw, str) or "T" not in raw:
        raise TypeError(raw)
    parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime(SF_DATETIME)


def _fail(raw: Any) -> str:
    raise ValueError(raw)


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "boolean": _boolean,
    "int": _integer,
    "double": _number,
    "currency": _number,
    "percent": _number,
    "date": _date,
    "datetime": _datetime,
}


def check(
    schema: Schema, store: Store, spec: ObjectSpec, draft: Draft, existing: Record | None
) -> tuple[dict[str, Any], list[ApiError]]:
    """The save-time checks in the order the platform reports them; the first failing stage wins."""
    values = dict(draft.values)
    stages: list[Callable[[], list[ApiError]]] = [
        lambda: _access(draft, creating=existing is None),
        lambda: _resolve_parents(store, draft, values),
        lambda: _references(schema, store, spec, values),
        lambda: _required(spec, values, existing),
        lambda: order_errors(schema, store, spec, values, existing),
        lambda: [e for f in spec.fields if f.storage in values for e in _value_rules(f, values)],
        lambda: _unique(store, spec, values, existing),
    ]
    for stage in stages:
        errors = stage()
        if errors:
            return values, errors
    return values, []


def _access(draft: Draft, *, creating: bool) -> list[ApiError]:
    fields = [p.field for p in draft.parents] + list(draft.named)
    refused = [f.name for f in fields if not (f.createable if creating else f.updateable)]
    if not refused:
        return []
    message = (
        f"Unable to create/update fields: {', '.join(refused)}. Please check the security "
        "settings of this field and verify that it is read/write for your profile or permission "
        "set."
    )
    return [ApiError("INVALID_FIELD_FOR_INSERT_UPDATE", message, tuple(refused))]


def _resolve_parents(store: Store, draft: Draft, values: dict[str, Any]) -> list[ApiError]:
    errors = []
    for ref in draft.parents:
        key = coerce(ref.key, ref.value)
        found = (
            [r for r in [store.get(ref.target.name, str(key))] if r]
            if ref.key.name == "Id"
            else store.find(ref.target.name, ref.key.storage, key)
        )
        if found:
            values[ref.field.storage] = found[0]["Id"]
            continue
        message = (
            f"Foreign key external ID: {key} not found for field {ref.key.name} "
            f"in entity {ref.target.name}"
        )
        errors.append(ApiError("INVALID_FIELD", message, ()))
    return errors


def _references(
    schema: Schema, store: Store, spec: ObjectSpec, values: dict[str, Any]
) -> list[ApiError]:
    errors = []
    for field in spec.fields:
        value = values.get(field.storage)
        if field.type != "reference" or value is None:
            continue
        target = schema.by_prefix(value) if looks_like_id(value) else None
        if target is None or target.name not in field.reference_to:
            message = f"{field.label}: id value of incorrect type: {value}"
            errors.append(ApiError("MALFORMED_ID", message, (field.name,)))
        elif store.get(target.name, value) is None:
            errors.append(ApiError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ()))
    return errors


def _required(spec: ObjectSpec, values: dict[str, Any], existing: Record | None) -> list[ApiError]:
    def missing(field: FieldSpec) -> bool:
        if existing is None:
            return field.required and values.get(field.storage) in (None, "")
        # A field that is not nillable cannot be blanked by an update (describe ``nillable``).
        blankable = field.nillable or field.type == "boolean"
        return not blankable and field.storage in values and values[field.storage] in (None, "")

    names = [f.name for f in spec.fields if missing(f)]
    if not names:
        return []
    message = f"Required fields are missing: [{', '.join(names)}]"
    return [ApiError("REQUIRED_FIELD_MISSING", message, tuple(names))]


def _value_rules(field: FieldSpec, values: dict[str, Any]) -> list[ApiError]:
    value = values[field.storage]
    if value is None:
        return []
    if field.type in TEXT_TYPES and field.length and len(str(value)) > field.length:
        message = f"{field.label}: data value too large: {value} (max length={field.length})"
        return [ApiError("STRING_TOO_LONG", message, (field.name,))]
    if field.type == "picklist" and field.restricted and value not in field.picklist:
        message = f"{field.label}: bad value for restricted picklist field: {value}"
        return [ApiError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", message, (field.name,))]
    if field.type in NUMBER_TYPES and field.precision and _too_many_digits(field, value):
        message = f"{field.label}: value outside of valid range on numeric field: {value}"
        return [ApiError("NUMBER_OUTSIDE_VALID_RANGE", message, (field.name,))]
    return []


def _too_many_digits(field: FieldSpec, value: float) -> bool:
    return bool(abs(value) >= 10 ** (field.precision - field.scale))


def _unique(
    store: Store, spec: ObjectSpec, values: dict[str, Any], existing: Record | None
) -> list[ApiError]:
    errors = []
    own = None if existing is None else existing["Id"]
    for field in spec.fields:
        value = values.get(field.storage)
        if not field.unique or value is None:
            continue
        clash = [r for r in store.find(spec.name, field.storage, value) if r["Id"] != own]
        if clash:
            message = (
                f"duplicate value found: {field.name} duplicates value on record with id: "
                f"{clash[0]['Id']}"
            )
            errors.append(ApiError("DUPLICATE_VALUE", message, ()))
    return errors
