"""The seeded catalog (``/courses``, ``/products``, ``/bundles``), bundle enrollment, groups,
``/group_users`` and external orders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from sandboxes.thinkific import SandboxState, load_seed
from sandboxes.thinkific.settings import default_seed_path
from tests.sandboxes.thinkific.conftest import assert_matches_schema, new_user


async def test_courses_are_seeded_with_their_products(
    client: httpx.AsyncClient, openapi: dict[str, Any]
) -> None:
    body = (await client.get("/courses")).json()
    assert_matches_schema(openapi, "GetCoursesResponse", body)
    assert [(c["id"], c["product_id"]) for c in body["items"]] == [
        (1001, 2001), (1002, 2002), (1003, 2003),
    ]  # fmt: skip
    for course in body["items"]:
        assert_matches_schema(openapi, "CourseResponse", course)


async def test_course_unknown_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/courses/4242")
    assert (response.status_code, response.json()) == (404, {"error": "Record not found."})


async def test_products_name_what_they_sell(
    client: httpx.AsyncClient, openapi: dict[str, Any]
) -> None:
    product = (await client.get("/products/2004")).json()
    assert_matches_schema(openapi, "ProductResponse", product)
    assert (product["productable_type"], product["productable_id"]) == ("Bundle", 3001)
    price = product["product_prices"][0]
    assert set(price) <= set(openapi["components"]["schemas"]["ProductPriceResponse"]["properties"])
    assert (price["price"], price["payment_type"]) == ("85.00", "one-time")
    listed = (await client.get("/products")).json()["items"]
    assert [p["id"] for p in listed] == [2001, 2002, 2003, 2004]


async def test_bundle_holds_two_courses(client: httpx.AsyncClient, openapi: dict[str, Any]) -> None:
    bundle = (await client.get("/bundles/3001")).json()
    courses = (await client.get("/bundles/3001/courses")).json()
    assert_matches_schema(openapi, "BundleResponse", bundle)
    assert bundle["course_ids"] == [1001, 1002]
    assert [c["id"] for c in courses["items"]] == [1001, 1002]
    assert (await client.get("/bundles/9")).status_code == 404


async def test_bundle_enrollment_fans_out_into_course_enrollments(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    user_id = await new_user(client)
    body = {"user_id": user_id, "activated_at": "2026-08-05T16:00:00Z"}
    response = await client.post("/bundles/3001/enrollments", json=body)
    mine = (await client.get("/enrollments", params={"query[user_id]": user_id})).json()
    in_bundle = (await client.get("/bundles/3001/enrollments")).json()
    assert response.status_code == 201
    assert [(e["course_id"], e["is_free_trial"]) for e in mine["items"]] == [
        (1001, False), (1002, False),
    ]  # fmt: skip
    assert in_bundle["meta"]["pagination"]["total_items"] == 2
    assert {(u, c): w.created for (u, c), w in state.store.writes.items()} == {
        (user_id, 1001): 1, (user_id, 1002): 1,
    }  # fmt: skip


async def test_bundle_enrollment_repeated_updates_instead_of_duplicating(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    user_id = await new_user(client)
    await client.post("/enrollments", json={"user_id": user_id, "course_id": 1001})
    body = {"user_id": user_id, "activated_at": "2026-08-05T16:00:00Z"}
    assert (await client.post("/bundles/3001/enrollments", json=body)).status_code == 201
    assert (await client.post("/bundles/3001/enrollments", json=body)).status_code == 201
    assert len(state.store.enrollments) == 2
    assert state.store.enrollment_of(user_id, 1001).activated_at is not None  # type: ignore[union-attr]


async def test_bundle_enrollment_without_user_is_422(client: httpx.AsyncClient) -> None:
    """The OpenAPI example: ``{"errors":{"user_id":["can't be blank"]}}``."""
    response = await client.post("/bundles/3001/enrollments", json={})
    assert response.status_code == 422
    assert response.json() == {"errors": {"user_id": ["can't be blank"]}}


async def test_bundle_enrollment_update_answers_204(client: httpx.AsyncClient) -> None:
    user_id = await new_user(client)
    await client.post("/bundles/3001/enrollments", json={"user_id": user_id})
    expiry = {"user_id": user_id, "expiry_date": "2026-08-05T00:00:00Z"}
    response = await client.put("/bundles/3001/enrollments", json=expiry)
    expired = (await client.get("/enrollments", params={"query[expired]": "true"})).json()
    assert response.status_code == 204
    assert expired["meta"]["pagination"]["total_items"] == 2


async def test_create_group_answers_200_with_an_8_character_token(
    client: httpx.AsyncClient, openapi: dict[str, Any]
) -> None:
    """``POST /groups`` is documented with a 200, not a 201."""
    response = await client.post("/groups", json={"name": "Northgate Clinic"})
    group = response.json()
    assert response.status_code == 200
    assert_matches_schema(openapi, "GroupResponse", group)
    assert len(group["token"]) == 8
    listed = (await client.get("/groups")).json()
    assert_matches_schema(openapi, "GetGroupsResponse", listed)
    assert (await client.get(f"/groups/{group['id']}")).json() == group


async def test_create_group_without_name_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/groups", json={"name": ""})
    assert response.status_code == 422
    assert response.json() == {"errors": {"name": ["can't be blank"]}}


async def test_get_group_unknown_is_404_as_documented(client: httpx.AsyncClient) -> None:
    """This path's own example gives the message in an array."""
    response = await client.get("/groups/99")
    assert (response.status_code, response.json()) == (404, {"error": ["Record not found."]})


async def test_group_users_adds_user_to_groups_by_name(client: httpx.AsyncClient) -> None:
    user_id = await new_user(client)
    await new_user(client, "grace@example.org")
    group = (await client.post("/groups", json={"name": "Northgate Clinic"})).json()
    body = {"user_id": user_id, "group_names": ["Northgate Clinic"]}
    response = await client.post("/group_users", json=body)
    members = (await client.get("/users", params={"query[group_id]": group["id"]})).json()
    assert response.status_code == 201
    assert [u["id"] for u in members["items"]] == [user_id]


async def test_group_users_with_unknown_name_is_422(client: httpx.AsyncClient) -> None:
    user_id = await new_user(client)
    await client.post("/groups", json={"name": "Northgate Clinic"})
    body = {"user_id": user_id, "group_names": ["Northgate Clinic", "Nowhere"]}
    response = await client.post("/group_users", json=body)
    assert response.status_code == 422
    assert response.json() == {"errors": ["Invalid group_names"]}


async def test_external_order_answers_201_with_id_and_enrols_nobody(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    user_id = await new_user(client)
    body = {"payment_provider": "storefront", "user_id": user_id, "product_id": 2001,
            "order_type": "one-time",
            "transaction": {"amount": 4000, "currency": "USD", "reference": "SO-1001"}}  # fmt: skip
    response = await client.post("/external_orders", json=body)
    order_id = response.json()["id"]
    refund = await client.post(
        f"/external_orders/{order_id}/transactions/refund",
        json={"amount": 4000, "currency": "USD", "reference": "SO-1001"},
    )
    assert (response.status_code, response.json()) == (201, {"id": order_id})
    assert refund.status_code == 200
    assert state.store.enrollments == {}
    assert [t["action"] for t in state.store.external_orders[order_id].transactions] == [
        None, "refund",
    ]  # fmt: skip


async def test_external_order_missing_fields_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/external_orders", json={"payment_provider": "storefront"})
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"user_id", "product_id", "order_type"}


def test_seed_rejects_a_bundle_with_an_unknown_course(tmp_path: Path) -> None:
    text = default_seed_path().read_text(encoding="utf-8").replace("[1001, 1002]", "[1001, 1009]")
    broken = tmp_path / "seed.yaml"
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="unknown courses"):
        load_seed(broken)
