"""``/enrollments`` against the OpenAPI ``/enrollments`` paths and ``EnrollmentResponse``."""

from __future__ import annotations

from typing import Any

import httpx

from sandboxes.thinkific import SandboxSettings, create_app
from tests.sandboxes.thinkific.conftest import (
    Clock,
    assert_matches_schema,
    client_of,
    key_headers,
    new_user,
)

FULL = {"activated_at": "2026-08-05T16:00:00Z"}


async def enrol(client: httpx.AsyncClient, user_id: int, course_id: int, **dates: Any) -> int:
    body = {"user_id": user_id, "course_id": course_id, **dates}
    response = await client.post("/enrollments", json=body)
    assert response.status_code == 201, response.text
    enrollment_id: int = response.json()["id"]
    return enrollment_id


async def test_create_enrollment_answers_201_with_an_enrollment_response(
    client: httpx.AsyncClient, openapi: dict[str, Any]
) -> None:
    user_id = await new_user(client)
    body = {"user_id": user_id, "course_id": 1001, **FULL, "expiry_date": "2027-08-05T16:00:00Z"}
    response = await client.post("/enrollments", json=body)
    enrollment = response.json()
    assert response.status_code == 201
    assert_matches_schema(openapi, "EnrollmentResponse", enrollment)
    assert enrollment["course_name"] == "Infection control online"
    assert (enrollment["user_email"], enrollment["user_name"]) == (
        "ada@example.org",
        "Ada Lovelace",
    )
    assert (enrollment["is_free_trial"], enrollment["expired"]) == (False, False)
    assert enrollment["activated_at"] == "2026-08-05T16:00:00Z"
    assert enrollment["expiry_date"] == "2027-08-05T16:00:00Z"


async def test_create_enrollment_without_activated_at_is_a_free_trial(
    client: httpx.AsyncClient,
) -> None:
    user_id = await new_user(client)
    response = await client.post("/enrollments", json={"user_id": user_id, "course_id": 1002})
    assert response.json()["is_free_trial"] is True
    assert response.json()["activated_at"] is None


async def test_create_enrollment_unknown_course_and_user_is_422_array(
    client: httpx.AsyncClient,
) -> None:
    """The OpenAPI example of ``POST /enrollments`` 422, in the errors-array form."""
    response = await client.post("/enrollments", json={"user_id": 77, "course_id": 9})
    assert response.status_code == 422
    assert response.json() == {"errors": ["Course could not be found.", "User could not be found."]}


async def test_create_enrollment_twice_is_422_already_enrolled(client: httpx.AsyncClient) -> None:
    """Assumed answer (API-NOTES §2.3), so a client must look up before it creates."""
    user_id = await new_user(client)
    await enrol(client, user_id, 1001, **FULL)
    response = await client.post("/enrollments", json={"user_id": user_id, "course_id": 1001})
    assert response.status_code == 422
    assert response.json() == {"errors": ["User is already enrolled in this course"]}


async def test_get_enrollment_and_unknown_is_404(client: httpx.AsyncClient) -> None:
    user_id = await new_user(client)
    enrollment_id = await enrol(client, user_id, 1001)
    assert (await client.get(f"/enrollments/{enrollment_id}")).json()["id"] == enrollment_id
    missing = await client.get("/enrollments/999")
    assert (missing.status_code, missing.json()) == (404, {"error": "Record not found."})


async def test_list_enrollments_filters_user_course_and_email(
    client: httpx.AsyncClient, openapi: dict[str, Any]
) -> None:
    ada = await new_user(client, "ada@example.org")
    grace = await new_user(client, "grace@example.org")
    await enrol(client, ada, 1001, **FULL)
    await enrol(client, ada, 1002)
    wanted = await enrol(client, grace, 1001)
    query = {"query[user_id]": grace, "query[course_id]": 1001}
    body = (await client.get("/enrollments", params=query)).json()
    by_email = (await client.get("/enrollments", params={"query[email]": "ADA@example.org"})).json()
    assert_matches_schema(openapi, "GetEnrollmentsResponse", body)
    assert [e["id"] for e in body["items"]] == [wanted]
    assert body["meta"]["pagination"]["total_items"] == 1
    assert [e["course_id"] for e in by_email["items"]] == [1001, 1002]


async def test_list_enrollments_filters_free_trial_and_full(client: httpx.AsyncClient) -> None:
    user_id = await new_user(client)
    full = await enrol(client, user_id, 1001, **FULL)
    trial = await enrol(client, user_id, 1002)
    trials = (await client.get("/enrollments", params={"query[free_trial]": "true"})).json()
    fulls = (await client.get("/enrollments", params={"query[full]": "true"})).json()
    assert [e["id"] for e in trials["items"]] == [trial]
    assert [e["id"] for e in fulls["items"]] == [full]


async def test_list_enrollments_filters_created_dates(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    user_id = await new_user(client)
    early = await enrol(client, user_id, 1001)
    clock.now += 2 * 86400
    late = await enrol(client, user_id, 1002)

    async def ids(**query: str) -> list[int]:
        params = {f"query[{k}]": v for k, v in query.items()}
        return [e["id"] for e in (await client.get("/enrollments", params=params)).json()["items"]]

    assert await ids(created_on="2026-08-05") == [early]
    assert await ids(created_after="2026-08-06") == [late]
    assert await ids(created_before="2026-08-06T00:00:00Z") == [early]
    assert await ids(created_on_or_after="2026-08-05") == [early, late]


async def test_list_enrollments_course_filter_is_exact_without_quirk(
    client: httpx.AsyncClient,
) -> None:
    user_id = await new_user(client)
    await enrol(client, user_id, 1001)
    await enrol(client, user_id, 1002)
    body = (await client.get("/enrollments", params={"query[course_id]": 1001})).json()
    assert [e["course_id"] for e in body["items"]] == [1001]


async def test_list_enrollments_cross_course_quirk_returns_other_courses(clock: Clock) -> None:
    """With the flag, ``query[course_id]`` leaks the users' other-course enrollments, as
    reported of the real filter (API-NOTES §2.3)."""
    settings = SandboxSettings(clock=clock, cross_course_quirk=True)
    async with client_of(create_app(settings), key_headers(settings)) as client:
        ada = await new_user(client, "ada@example.org")
        grace = await new_user(client, "grace@example.org")
        await enrol(client, ada, 1001)
        await enrol(client, ada, 1002)
        await enrol(client, grace, 1003)
        body = (await client.get("/enrollments", params={"query[course_id]": 1001})).json()
    assert [(e["user_id"], e["course_id"]) for e in body["items"]] == [(ada, 1001), (ada, 1002)]


async def test_update_enrollment_answers_204_and_activates(client: httpx.AsyncClient) -> None:
    user_id = await new_user(client)
    enrollment_id = await enrol(client, user_id, 1001)
    response = await client.put(f"/enrollments/{enrollment_id}", json=FULL)
    after = (await client.get(f"/enrollments/{enrollment_id}")).json()
    assert (response.status_code, response.content) == (204, b"")
    assert (after["is_free_trial"], after["activated_at"]) == (False, FULL["activated_at"])


async def test_update_enrollment_can_answer_200_empty(clock: Clock) -> None:
    """One client reports 200 with an empty body for this PUT (API-NOTES §2.3)."""
    settings = SandboxSettings(clock=clock, enrollment_put_status=200)
    async with client_of(create_app(settings), key_headers(settings)) as client:
        enrollment_id = await enrol(client, await new_user(client), 1001)
        response = await client.put(f"/enrollments/{enrollment_id}", json=FULL)
    assert (response.status_code, response.content) == (200, b"")


async def test_update_enrollment_unknown_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.put("/enrollments/999", json=FULL)).status_code == 404


async def test_enrollment_expired_follows_expiry_date_and_clock(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    user_id = await new_user(client)
    expiry = {"expiry_date": "2026-08-06T00:00:00Z"}
    enrollment_id = await enrol(client, user_id, 1001, **FULL, **expiry)
    before = (await client.get(f"/enrollments/{enrollment_id}")).json()
    clock.now += 86400
    after = (await client.get(f"/enrollments/{enrollment_id}")).json()
    expired = (await client.get("/enrollments", params={"query[expired]": "true"})).json()
    assert (before["expired"], after["expired"]) == (False, True)
    assert [e["id"] for e in expired["items"]] == [enrollment_id]


async def test_update_enrollment_expiry_now_revokes_access(
    client: httpx.AsyncClient,
) -> None:
    user_id = await new_user(client)
    enrollment_id = await enrol(client, user_id, 1001, **FULL)
    await client.put(f"/enrollments/{enrollment_id}", json={"expiry_date": "2026-08-05T16:34:19Z"})
    assert (await client.get(f"/enrollments/{enrollment_id}")).json()["expired"] is True


async def test_delete_user_removes_their_enrollments(client: httpx.AsyncClient) -> None:
    user_id = await new_user(client)
    enrollment_id = await enrol(client, user_id, 1001)
    await client.delete(f"/users/{user_id}")
    assert (await client.get(f"/enrollments/{enrollment_id}")).status_code == 404
