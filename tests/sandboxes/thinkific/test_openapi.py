"""Every path and method the sandbox serves is one the Thinkific OpenAPI describes."""

from __future__ import annotations

import re
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Mount, Route

from sandboxes.thinkific import API_BASE

_CONVERTOR = re.compile(r"\{(\w+):\w+\}")


def served_operations(app: Starlette) -> set[tuple[str, str]]:
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == API_BASE)
    return {
        (method.lower(), _CONVERTOR.sub(r"{\1}", route.path))
        for route in mount.routes
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }


def test_openapi_describes_every_served_operation(app: Starlette, openapi: dict[str, Any]) -> None:
    documented = {(method, path) for path, item in openapi["paths"].items() for method in item}
    served = served_operations(app)
    assert served - documented == set()
    assert ("post", "/bundles/{id}/enrollments") in served


# The success status each write answers with in the sandbox (asserted against live answers in
# the other modules); each must be one the OpenAPI documents for that operation.
WRITE_STATUSES = {
    ("post", "/users"): 201,
    ("put", "/users/{id}"): 204,
    ("delete", "/users/{id}"): 204,
    ("post", "/enrollments"): 201,
    ("put", "/enrollments/{id}"): 204,
    ("post", "/bundles/{id}/enrollments"): 201,
    ("put", "/bundles/{id}/enrollments"): 204,
    ("post", "/groups"): 200,
    ("post", "/group_users"): 201,
    ("post", "/external_orders"): 201,
    ("post", "/external_orders/{id}/transactions/purchase"): 200,
    ("post", "/external_orders/{id}/transactions/refund"): 200,
}


def test_openapi_documents_each_write_status(openapi: dict[str, Any]) -> None:
    for (method, path), status in WRITE_STATUSES.items():
        responses = openapi["paths"][path][method]["responses"]
        assert status in {int(code) for code in responses}, (method, path, status)


def test_openapi_write_statuses_cover_every_served_write(app: Starlette) -> None:
    writes = {op for op in served_operations(app) if op[0] != "get"}
    assert writes == set(WRITE_STATUSES)
