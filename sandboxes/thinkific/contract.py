"""The contract of ``contract.yaml`` (Thinkific's OpenAPI, pruned to what a validator reads),
and the checks the sandbox makes with it before an endpoint sees a request.

Only what the description states is refused: a property of the wrong type, ``null`` where no
property is ``nullable``, a ``date-time`` or ``email`` that is not one, a value outside an
``enum``, a string under ``minLength``, a missing ``required`` property, and a query parameter
whose value is not of its declared type. Properties the description does not name pass, as
OpenAPI 3.0 allows (``additionalProperties`` defaults to true).

The problems come back by top-level property, the Rails shape of the vendor's 422 example
(``{"errors": {"first_name": ["can't be blank"]}}``). Their wording is assumed: no source shows
Thinkific's own words for a wrong type or a null.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

BLANK = "can't be blank"
INVALID = "is invalid"
NOT_NULL = "must not be null (leave the property out instead)"
_TOO_SHORT = "is too short (minimum is {} characters)"
_PATH_ID = re.compile(r"/\d+(?=/|$)")
# RFC 3339 date-time, which OpenAPI's ``date-time`` format names: a date, ``T``, a time and a
# zone (``Z`` or an offset).
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")

Problems = dict[str, list[str]]


def contract_path() -> Path:
    return Path(__file__).with_name("contract.yaml")


@cache
def load_contract() -> dict[str, Any]:
    """The contract document, parsed once per process."""
    document: dict[str, Any] = yaml.safe_load(contract_path().read_text(encoding="utf-8"))
    return document


@dataclass(frozen=True, slots=True)
class Operation:
    method: str  # lower case, as in the description
    path: str  # the template, e.g. ``/enrollments/{id}``
    spec: Mapping[str, Any]

    @property
    def body_schema(self) -> Mapping[str, Any] | None:
        body = self.spec.get("requestBody")
        if body is None:
            return None
        schema: Mapping[str, Any] = body["content"]["application/json"]["schema"]
        return schema

    @property
    def statuses(self) -> frozenset[int]:
        return frozenset(int(code) for code in self.spec.get("responses", {}))

    def query_parameters(self) -> dict[str, Mapping[str, Any]]:
        return {
            p["name"]: p.get("schema", {})
            for p in self.spec.get("parameters", ())
            if p.get("in") == "query"
        }


def operation(method: str, path: str) -> Operation | None:
    """The documented operation a request is for; ``path`` is below the API base, with ids as
    numbers (``/enrollments/42``) or as the template's ``{id}``."""
    paths: dict[str, Any] = load_contract()["paths"]
    template = _PATH_ID.sub("/{id}", path)
    item = paths.get(template)
    if item is None and path.startswith("/users/"):
        template = "/users/{id}"  # a user is also found by external id (``?provider=``)
        item = paths.get(template)
    spec = None if item is None else item.get(method.lower())
    return None if spec is None else Operation(method.lower(), template, spec)


def body_problems(op: Operation, body: Any) -> Problems:
    """What the request body breaks of the operation's schema; empty when it is valid."""
    schema = op.body_schema
    if schema is None:
        return {}
    return object_problems(schema, body)


def object_problems(schema: Mapping[str, Any], body: Any) -> Problems:
    """A JSON object against an object schema, by top-level property."""
    schema = resolve(schema)
    if not isinstance(body, dict):
        return {"base": [INVALID]}
    problems: Problems = {}
    required = set(schema.get("required", ()))
    for name in sorted(required):
        if _blank(body.get(name)):
            problems[name] = [BLANK]
    for name, declared in schema.get("properties", {}).items():
        if name in body and name not in problems:
            found = value_problems(declared, body[name])
            if found:
                problems[name] = found
    return problems


def _blank(value: Any) -> bool:
    """Rails' presence check, which answers the documented ``can't be blank``: missing, null,
    or a string of nothing but white space."""
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def value_problems(schema: Mapping[str, Any], value: Any) -> list[str]:
    schema = resolve(schema)
    if value is None:
        return [] if schema.get("nullable") else [NOT_NULL]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        inner = object_problems(schema, value)
        return [f"{key} {text}" for key, texts in inner.items() for text in texts]
    if kind == "array":
        if not isinstance(value, list):
            return [INVALID]
        items = schema.get("items", {})
        return sorted({text for item in value for text in value_problems(items, item)})
    if not _of_type(kind, value):
        return [INVALID]
    return _constraint_problems(schema, value)


def _of_type(kind: Any, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return kind == "number" or float(value).is_integer()
    if kind == "boolean":
        return isinstance(value, bool)
    return True  # no type declared: anything


def _constraint_problems(schema: Mapping[str, Any], value: Any) -> list[str]:
    problems: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(INVALID)
    if isinstance(value, str):
        if len(value) < int(schema.get("minLength", 0)):
            problems.append(_TOO_SHORT.format(schema["minLength"]))
        if not _formatted(schema.get("format"), value):
            problems.append(INVALID)
    return sorted(set(problems))


def _formatted(fmt: Any, value: str) -> bool:
    if fmt == "date-time":
        return is_date_time(value)
    if fmt == "email":
        local, at, domain = value.partition("@")
        return bool(local and at and domain) and not any(c.isspace() for c in value)
    return True


def is_date_time(text: str) -> bool:
    """An RFC 3339 date-time, OpenAPI's ``date-time`` format."""
    if not _DATE_TIME.match(text):
        return False
    try:
        datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def query_problems(op: Operation, query: Mapping[str, str]) -> Problems:
    """Documented query parameters whose value is not of the declared type; a parameter the
    description does not name is ignored, as a Rails site ignores it."""
    declared = op.query_parameters()
    problems: Problems = {}
    for name, raw in query.items():
        schema = declared.get(name)
        if schema is not None and not _query_value_ok(schema, raw):
            problems[name] = [INVALID]
    return problems


def _query_value_ok(schema: Mapping[str, Any], raw: str) -> bool:
    kind = schema.get("type")
    if kind in ("number", "integer"):
        try:
            number = float(raw)
        except ValueError:
            return False
        return kind == "number" or number.is_integer()
    if kind == "boolean":
        return raw in ("true", "false")
    if "enum" in schema and raw not in schema["enum"]:
        return False
    if schema.get("format") == "date-time":
        text = raw.strip().replace(" ", "+")  # an unencoded ``+`` of an offset reads as a space
        return is_date_time(text) or _is_date(text)
    return True


def _is_date(raw: str) -> bool:
    """A bare date, which the enrollment filters are documented to take as a day."""
    try:
        datetime.strptime(raw, "%Y-%m-%d")
    except ValueError:
        return False
    return True


def resolve(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a ``$ref`` to ``#/components/schemas/<name>``."""
    ref = schema.get("$ref")
    if ref is None:
        return schema
    named: Mapping[str, Any] = load_contract()["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return resolve(named)
