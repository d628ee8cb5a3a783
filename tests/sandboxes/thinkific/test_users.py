"""``/users`` against the OpenAPI ``/users`` and ``/users/{id}`` paths and ``UserResponse``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sandboxes.thinkific.conftest import assert_matches_schema, new_user, schema_properties


async def test_create_user_answers_201_with_a_user_response(
    client: httpx.AsyncClient, openapi: dict[str, Any]
) -> None:
    body = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org",
            "company": "Analytical Clinic", "roles": ["group_analyst"]}  # fmt: skip
    response = await client.post("/users", json=body)
    user = response.json()
    assert response.status_code == 201
    assert_matches_schema(openapi, "UserResponse", user)
    assert user["full_name"] == "Ada Lovelace"
    assert user["company"] == "Analytical Clinic"
    assert user["roles"] == ["group_analyst"]
    assert user["created_at"] == "2026-08-05T16:34:19Z"


async def test_create_user_without_required_fields_is_422_per_field(
    client: httpx.AsyncClient,
) -> None:
    """OpenAPI example: ``{"errors":{"first_name":["can't be blank"]}}``."""
    response = await client.post("/users", json={"email": "ada@example.org", "first_name": ""})
    assert response.status_code == 422
    assert response.json() == {
        "errors": {"first_name": ["can't be blank"], "last_name": ["can't be blank"]}
    }


async def test_create_user_with_taken_email_is_422_whatever_the_case(
    client: httpx.AsyncClient,
) -> None:
    """Assumed body (API-NOTES §2.2): the e-mail ``has already been taken``."""
    await new_user(client, "ada@example.org")
    again = {"first_name": "Ada", "last_name": "L", "email": "ADA@Example.org"}
    response = await client.post("/users", json=again)
    assert response.status_code == 422
    assert response.json() == {"errors": {"email": ["has already been taken"]}}


@pytest.mark.parametrize(
    ("extra", "errors"),
    [
        ({"email": "not-an-address"}, {"email": ["is invalid"]}),
        ({"password": "12345"}, {"password": ["is too short (minimum is 6 characters)"]}),
        ({"roles": ["emperor"]}, {"roles": ["is invalid"]}),
    ],
)
async def test_create_user_refuses_bad_values(
    client: httpx.AsyncClient, extra: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    body = {"first_name": "Ada", "last_name": "L", "email": "ada@example.org", **extra}
    response = await client.post("/users", json=body)
    assert response.status_code == 422
    assert response.json() == {"errors": errors}


async def test_create_user_with_invalid_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/users", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert set(response.json()) == {"error"}


async def test_list_users_filters_email_exactly_and_case_insensitively(
    client: httpx.AsyncClient, openapi: dict[str, Any]
) -> None:
    await new_user(client, "ada@example.org")
    await new_user(client, "ada@example.org.uk")
    response = await client.get("/users", params={"query[email]": "Ada@Example.ORG"})
    body = response.json()
    assert response.status_code == 200
    assert_matches_schema(openapi, "GetUsersResponse", body)
    assert [u["email"] for u in body["items"]] == ["ada@example.org"]


async def test_list_users_pages_with_meta_pagination(
    client: httpx.AsyncClient, openapi: dict[str, Any]
) -> None:
    for n in range(5):
        await new_user(client, f"user{n}@example.org")
    first = (await client.get("/users", params={"limit": 2})).json()
    last = (await client.get("/users", params={"limit": 2, "page": 3})).json()
    pagination_keys, _ = schema_properties(openapi, "Pagination")
    assert set(first["meta"]["pagination"]) == pagination_keys
    assert first["meta"]["pagination"] == {
        "current_page": 1, "next_page": 2, "prev_page": None,
        "total_pages": 3, "total_items": 5, "entries_info": "1-2 of 5",
    }  # fmt: skip
    assert last["meta"]["pagination"]["next_page"] is None
    assert last["meta"]["pagination"]["prev_page"] == 2
    assert last["meta"]["pagination"]["entries_info"] == "5-5 of 5"
    assert [u["email"] for u in last["items"]] == ["user4@example.org"]


async def test_list_users_caps_limit_at_250(client: httpx.AsyncClient) -> None:
    await new_user(client)
    body = (await client.get("/users", params={"limit": 1000})).json()
    assert body["meta"]["pagination"]["total_pages"] == 1
    assert body["meta"]["pagination"]["entries_info"] == "1-1 of 1"


async def test_list_users_filters_role_and_profile_field(client: httpx.AsyncClient) -> None:
    phone = [{"custom_profile_field_definition_id": 1, "value": "0113 496 0000"}]
    await new_user(client, "ada@example.org", roles=["affiliate"], custom_profile_fields=phone)
    await new_user(client, "grace@example.org")
    by_role = (await client.get("/users", params={"query[role]": "affiliate"})).json()
    by_field = await client.get(
        "/users",
        params={"query[custom_profile_field_label]": "Phone",
                "query[custom_profile_field_value]": "0113 496 0000"},
    )  # fmt: skip
    assert [u["email"] for u in by_role["items"]] == ["ada@example.org"]
    assert [u["email"] for u in by_field.json()["items"]] == ["ada@example.org"]
    field = by_field.json()["items"][0]["custom_profile_fields"][0]
    assert field["label"] == "Phone"
    assert field["custom_profile_field_definition_id"] == 1


async def test_get_user_unknown_is_404_record_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get("/users/999")
    assert response.status_code == 404
    assert response.json() == {"error": "Record not found."}


async def test_get_user_by_external_id_with_provider(client: httpx.AsyncClient) -> None:
    user_id = await new_user(client, external_id="c-42", provider="SSO")
    found = await client.get("/users/c-42", params={"provider": "SSO"})
    assert found.status_code == 200
    assert found.json()["id"] == user_id
    assert (
        await client.get("/users/c-42", params={"provider": "OPENID_CONNECT"})
    ).status_code == 404


async def test_update_user_answers_204_and_changes_only_sent_fields(
    client: httpx.AsyncClient,
) -> None:
    user_id = await new_user(client, company="Old Clinic")
    response = await client.put(f"/users/{user_id}", json={"last_name": "Byron"})
    user = (await client.get(f"/users/{user_id}")).json()
    assert response.status_code == 204
    assert response.content == b""
    assert (user["last_name"], user["company"], user["full_name"]) == (
        "Byron",
        "Old Clinic",
        "Ada Byron",
    )


async def test_update_user_to_a_taken_email_is_422(client: httpx.AsyncClient) -> None:
    await new_user(client, "ada@example.org")
    grace = await new_user(client, "grace@example.org")
    response = await client.put(f"/users/{grace}", json={"email": "ada@example.org"})
    assert response.status_code == 422
    assert response.json() == {"errors": {"email": ["has already been taken"]}}


async def test_delete_user_answers_204_then_404(client: httpx.AsyncClient) -> None:
    user_id = await new_user(client)
    assert (await client.delete(f"/users/{user_id}")).status_code == 204
    assert (await client.get(f"/users/{user_id}")).status_code == 404
    assert (await client.delete(f"/users/{user_id}")).status_code == 404
