"""The contract the sandbox enforces: the vendor's OpenAPI where present, and the sandbox
refusing what the description does not allow (``null`` for a string, a malformed date-time,
a missing required property, a query value of the wrong type)."""

from __future__ import annotations

from typing import Any

import httpx

from sandboxes.thinkific.contract import NOT_NULL, load_contract
from tests.sandboxes.thinkific.conftest import new_user

# What a validator reads; the contract keeps exactly these keys of every schema.
_CONSTRAINTS = ("type", "format", "enum", "minLength", "required", "$ref", "default", "nullable")


def _schema_projection(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return schema
    projected = {key: schema[key] for key in _CONSTRAINTS if key in schema}
    if "properties" in schema:
        projected["properties"] = {
            name: _schema_projection(inner) for name, inner in schema["properties"].items()
        }
    if "items" in schema:
        projected["items"] = _schema_projection(schema["items"])
    return projected


def _response_projection(spec: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in response:
        response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    content = response.get("content", {}).get("application/json")
    if not content:
        return {}
    kept: dict[str, Any] = {}
    if "schema" in content:
        kept["schema"] = _schema_projection(content["schema"])
    if "example" in content:
        kept["example"] = content["example"]
    return {"content": {"application/json": kept}}


def _operation_projection(spec: dict[str, Any], op: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    if "parameters" in op:
        kept["parameters"] = [
            {
                key: _schema_projection(value) if key == "schema" else value
                for key, value in parameter.items()
                if key in ("name", "in", "required", "schema")
            }
            for parameter in op["parameters"]
        ]
    if "requestBody" in op:
        body = op["requestBody"]
        schema = body["content"]["application/json"]["schema"]
        kept["requestBody"] = {
            **({"required": body["required"]} if "required" in body else {}),
            "content": {"application/json": {"schema": _schema_projection(schema)}},
        }
    kept["responses"] = {
        str(code): _response_projection(spec, answer) for code, answer in op["responses"].items()
    }
    return kept


def test_contract_is_the_vendored_openapi_for_every_operation_it_names(
    vendored_openapi: dict[str, Any],
) -> None:
    contract = load_contract()
    for path, item in contract["paths"].items():
        for method, op in item.items():
            vendored = vendored_openapi["paths"][path][method]
            assert op == _operation_projection(vendored_openapi, vendored), (method, path)


def test_contract_schemas_are_the_vendored_ones(vendored_openapi: dict[str, Any]) -> None:
    contract = load_contract()["components"]["schemas"]
    vendored = vendored_openapi["components"]["schemas"]
    for name, schema in contract.items():
        assert schema == _schema_projection(vendored[name]), name


def test_contract_declares_no_nullable_property() -> None:
    """OpenAPI 3.0: without ``nullable: true`` a property does not take null. The vendor
    declares none (the schemas' projections above keep ``nullable``), so the sandbox refuses
    every null."""
    assert "nullable" not in str(load_contract())


async def test_contract_user_company_null_is_refused_as_the_site_validates(
    client: httpx.AsyncClient,
) -> None:
    """``CreateUserRequest.company`` is a string; null is outside the contract."""
    body = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org"}
    refused = await client.post("/users", json={**body, "company": None})
    made = await client.post("/users", json=body)
    assert refused.status_code == 422
    assert set(refused.json()["errors"]) == {"company"}
    assert made.status_code == 201
    assert made.json()["company"] is None  # a user without a company is fine: left out


async def test_contract_enrollment_expiry_null_is_refused(client: httpx.AsyncClient) -> None:
    """``UpdateEnrollmentRequest.expiry_date`` is a ``date-time`` string, never null."""
    user_id = await new_user(client)
    made = await client.post(
        "/enrollments",
        json={"user_id": user_id, "course_id": 1001, "activated_at": "2026-08-05T16:00:00Z"},
    )
    enrollment_id = made.json()["id"]
    refused = await client.put(f"/enrollments/{enrollment_id}", json={"expiry_date": None})
    dated = await client.put(
        f"/enrollments/{enrollment_id}", json={"expiry_date": "2027-08-05T16:00:00Z"}
    )
    assert refused.status_code == 422
    assert refused.json() == {"errors": {"expiry_date": [NOT_NULL]}}
    assert dated.status_code == 204


async def test_contract_date_time_must_be_rfc3339(client: httpx.AsyncClient) -> None:
    user_id = await new_user(client)
    for bad in ("2026-08-05", "05/08/2026 16:00", "2026-08-05T16:00:00", 1785947659):
        response = await client.post(
            "/enrollments", json={"user_id": user_id, "course_id": 1001, "activated_at": bad}
        )
        assert response.status_code == 422, bad
        assert response.json() == {"errors": {"activated_at": ["is invalid"]}}, bad


async def test_contract_number_property_refuses_text(client: httpx.AsyncClient) -> None:
    """``CreateEnrollmentRequest.user_id`` and ``CreateGroupUsersRequest.user_id`` are numbers."""
    enrollment = await client.post("/enrollments", json={"user_id": "7", "course_id": 1001})
    membership = await client.post("/group_users", json={"user_id": "7", "group_names": ["A"]})
    assert enrollment.json() == {"errors": {"user_id": ["is invalid"]}}
    assert membership.json() == {"errors": {"user_id": ["is invalid"]}}


async def test_contract_group_users_requires_both_properties(client: httpx.AsyncClient) -> None:
    response = await client.post("/group_users", json={"group_names": ["A"]})
    assert response.status_code == 422
    assert response.json() == {"errors": {"user_id": ["can't be blank"]}}


async def test_contract_query_value_of_the_wrong_type_is_a_bad_request(
    client: httpx.AsyncClient,
) -> None:
    """``query[user_id]`` of ``GET /enrollments`` is a number; an undocumented parameter is
    ignored, as a Rails site ignores it."""
    bad = await client.get("/enrollments", params={"query[user_id]": "ada"})
    ignored = await client.get("/enrollments", params={"query[nickname]": "ada"})
    assert bad.status_code == 400
    assert bad.json() == {"error": "Parameter query[user_id] is invalid."}
    assert bad.headers["ratelimit-limit"] == "120"
    assert ignored.status_code == 200
