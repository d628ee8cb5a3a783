"""How the sandbox speaks on the wire: timestamps, error bodies and request bodies.

Thinkific answers errors in three shapes, and clients must parse all of them (API-NOTES §2.5):
``{"error": "..."}`` (401, 403, 404, 400), ``{"errors": {"field": ["msg"]}}`` and
``{"errors": ["msg", ...]}`` (both 422).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandboxes.thinkific.contract import BLANK, INVALID, body_problems, operation
from sandboxes.thinkific.settings import API_BASE

Model = TypeVar("Model", bound=BaseModel)

AUTHENTICATION_ERROR = "Authentication Error"
RECORD_NOT_FOUND = "Record not found."


def iso(moment: datetime | None) -> str | None:
    """``YYYY-MM-DDTHH:MM:SSZ``, the documented response format (API-NOTES §2.1)."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def error(status: int, message: Any) -> Response:
    return JSONResponse({"error": message}, status_code=status)


def not_found() -> Response:
    """404 ``ErrorNotFound`` with its documented example message."""
    return error(404, RECORD_NOT_FOUND)


def field_errors(fields: dict[str, list[str]]) -> Response:
    """422 in the Rails object form, e.g. ``{"errors":{"first_name":["can't be blank"]}}``."""
    return JSONResponse({"errors": fields}, status_code=422)


def message_errors(messages: list[str]) -> Response:
    """422 in the array form, e.g. ``{"errors":["Course could not be found."]}``."""
    return JSONResponse({"errors": messages}, status_code=422)


def created(body: Any) -> Response:
    return JSONResponse(body, status_code=201)


def no_content(status: int = 204) -> Response:
    return Response(status_code=status)


async def read_body(request: Request, model: type[Model]) -> Model | Response:
    """Parse a JSON body into ``model``, or the error response the site would give.

    Unparseable JSON is a 400 in the documented ``ErrorBadRequest`` shape. A body the
    operation's schema in the contract does not allow (a wrong type, a ``null``, a malformed
    date-time, a missing required property) is a 422 in the Rails object shape of the vendor's
    example, by property. The messages are assumptions: no source shows Thinkific's wording.
    """
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return error(400, "The request body is not valid JSON.")
    if not isinstance(data, dict):
        return error(400, "The request body must be a JSON object.")
    op = operation(request.method, request.scope["path"].removeprefix(API_BASE))
    problems = {} if op is None else body_problems(op, data)
    if problems:
        return field_errors(problems)
    try:
        return model.model_validate(data)
    except ValidationError as refused:
        names = sorted({str(e["loc"][0]) for e in refused.errors() if e["loc"]})
        return field_errors({name: [INVALID] for name in names})


def blank(**values: Any) -> dict[str, list[str]]:
    """The ``can't be blank`` errors for the required values that are missing or empty."""
    return {name: [BLANK] for name, value in values.items() if value is None or value == ""}
