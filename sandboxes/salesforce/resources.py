"""The REST resources under ``/services/data/vNN.N``, routed in-process.

HTTP requests and ``/composite`` subrequests go through the same ``Router.dispatch``, so a
subrequest answers exactly as the resource would on its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from sandboxes.salesforce.errors import NOT_FOUND, ApiError, RequestFailed
from sandboxes.salesforce.schema import ObjectSpec
from sandboxes.salesforce.state import SandboxState


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Call:
    """One request to a resource: who, which version, what, with the body already parsed."""

    state: SandboxState
    router: Router
    version: str
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: Any
    host: str

    @property
    def base(self) -> str:
        return f"/services/data/v{self.version}"

    @property
    def api_version(self) -> float:
        return float(self.version)

    def sobject(self, name: str) -> ObjectSpec:
        spec = self.state.schema.get(name)
        if spec is None:
            raise RequestFailed(404, ApiError("NOT_FOUND", "The requested resource does not exist"))
        return spec

    def json_object(self) -> dict[str, Any]:
        if not isinstance(self.body, dict):
            raise RequestFailed(
                400, ApiError("JSON_PARSER_ERROR", "The request body must be a JSON object")
            )
        return self.body


Handler = Callable[[Call, dict[str, str]], Reply]


@dataclass(frozen=True, slots=True)
class Resource:
    method: str
    pattern: re.Pattern[str]
    name: str
    handler: Handler


def resource(method: str, pattern: str, name: str, handler: Handler) -> Resource:
    """``{param}`` in ``pattern`` matches one path segment."""
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern.rstrip("/"))
    return Resource(method, re.compile(f"^{regex}/?$"), name, handler)


@dataclass(frozen=True, slots=True)
class Router:
    resources: tuple[Resource, ...]

    def match(self, method: str, path: str) -> tuple[Resource, dict[str, str]]:
        allowed = False
        for candidate in self.resources:
            found = candidate.pattern.match(path)
            if found and candidate.method == method:
                return candidate, {k: unquote(v) for k, v in found.groupdict().items()}
            allowed = allowed or bool(found)
        if allowed:
            message = f"HTTP Method '{method}' not allowed. Allowed are GET,PATCH,POST,DELETE"
            raise RequestFailed(405, ApiError("METHOD_NOT_ALLOWED", message))
        raise RequestFailed(404, NOT_FOUND)

    def name(self, method: str, path: str) -> str:
        try:
            return self.match(method, path)[0].name
        except RequestFailed:
            return "unknown"

    def dispatch(self, call: Call) -> Reply:
        try:
            target, params = self.match(call.method, call.path)
            return target.handler(call, params)
        except RequestFailed as failed:
            return Reply(failed.status, failed.body())
