"""Authentication, the per-minute rate limit and its headers, the concurrency cap, injected
faults and the ``/__sandbox`` endpoints."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from starlette.applications import Starlette

from sandboxes.thinkific import (
    ConnectionDropped,
    FaultKind,
    SandboxSettings,
    SandboxState,
    create_app,
)
from sandboxes.thinkific.ratelimit import RateLimiter
from tests.sandboxes.thinkific.conftest import START, Clock, client_of, key_headers, new_user

RATE_HEADERS = (
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "x-ratelimit-limit-minute",
    "x-ratelimit-remaining-minute",
)


async def test_auth_accepts_key_and_subdomain(client: httpx.AsyncClient) -> None:
    assert (await client.get("/courses")).status_code == 200


async def test_auth_accepts_a_bearer_token(app: Starlette) -> None:
    async with client_of(app, {"Authorization": "Bearer sandbox-access-token"}) as client:
        assert (await client.get("/courses")).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Auth-API-Key": "wrong", "X-Auth-Subdomain": "sandbox"},
        {"X-Auth-API-Key": "sandbox-api-key", "X-Auth-Subdomain": "elsewhere"},
        {"X-Auth-API-Key": "sandbox-api-key"},
        {"Authorization": "Bearer expired-token"},
    ],
)
async def test_auth_refuses_missing_or_wrong_credentials(
    app: Starlette, headers: dict[str, str]
) -> None:
    async with client_of(app, headers) as client:
        response = await client.get("/courses")
    assert response.status_code == 401
    assert response.json() == {"error": "Authentication Error"}
    assert all(name in response.headers for name in RATE_HEADERS)


async def test_rate_headers_match_the_live_capture(client: httpx.AsyncClient) -> None:
    """API-NOTES §2.5: limit, remaining, reset in epoch ms at the next minute, twice over."""
    await client.get("/courses")
    response = await client.get("/courses")
    headers = response.headers
    assert headers["ratelimit-limit"] == headers["x-ratelimit-limit-minute"] == "120"
    assert headers["ratelimit-remaining"] == headers["x-ratelimit-remaining-minute"] == "118"
    assert headers["ratelimit-reset"] == "1785947700000"


async def test_rate_limit_refuses_the_121st_request_in_a_minute(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    statuses = [(await client.get("/courses")).status_code for _ in range(120)]
    refused = await client.get("/courses")
    assert set(statuses) == {200}
    assert refused.status_code == 429
    assert set(refused.json()) == {"error"}
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["ratelimit-reset"] == "1785947700000"
    assert state.stats()["rate_limited"] == 1


async def test_rate_limit_window_resets_at_the_minute_boundary(clock: Clock) -> None:
    settings = SandboxSettings(clock=clock, rate_limit_per_minute=2)
    async with client_of(create_app(settings), key_headers(settings)) as client:
        statuses = [(await client.get("/courses")).status_code for _ in range(3)]
        clock.now = 1785947700.0
        fresh = await client.get("/courses")
    assert statuses == [200, 200, 429]
    assert fresh.status_code == 200
    assert fresh.headers["ratelimit-remaining"] == "1"
    assert fresh.headers["ratelimit-reset"] == "1785947760000"


def test_rate_limiter_counts_each_subdomain_apart(clock: Clock) -> None:
    limiter = RateLimiter(1, clock)
    assert limiter.take("acme").allowed
    assert not limiter.take("acme").allowed
    assert limiter.take("other").allowed
    assert limiter.peek("acme").remaining == 0


async def test_concurrency_cap_refuses_the_eleventh_request_in_flight(clock: Clock) -> None:
    settings = SandboxSettings(clock=clock, max_in_flight=10)
    app = create_app(settings)
    app.state.sandbox.faults.inject(FaultKind.LATENCY, latency_ms=50)
    async with client_of(app, key_headers(settings)) as client:
        responses = await asyncio.gather(*(client.get("/courses") for _ in range(11)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 10 + [429]
    assert app.state.sandbox.stats()["concurrency_limited"] == 1


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_fault_server_error_answers_next_requests_only(
    client: httpx.AsyncClient, state: SandboxState, status: int
) -> None:
    state.faults.inject(FaultKind.SERVER_ERROR, status=status, count=2)
    first, second, third = [(await client.get("/courses")) for _ in range(3)]
    assert (first.status_code, second.status_code, third.status_code) == (status, status, 200)
    assert set(first.json()) == {"error"}
    assert "ratelimit-remaining" in first.headers


@pytest.mark.parametrize("status", [520, 521, 522, 523, 524, 525, 526, 527, 530])
async def test_fault_cloudflare_answers_from_the_edge(
    client: httpx.AsyncClient, state: SandboxState, status: int
) -> None:
    state.faults.inject(FaultKind.CLOUDFLARE, status=status, count=1)
    response = await client.get("/courses")
    assert response.status_code == status
    assert response.text == f"error code: {status}"
    assert "ratelimit-limit" not in response.headers


async def test_fault_rate_limited_answers_429_with_headers(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults.inject(FaultKind.RATE_LIMITED, count=1, path="/enrollments")
    assert (await client.get("/courses")).status_code == 200
    refused = await client.get("/enrollments")
    assert refused.status_code == 429
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["ratelimit-reset"] == str(int(START // 60 + 1) * 60_000)


async def test_fault_drop_connection_breaks_the_response(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults.inject(FaultKind.DROP_CONNECTION, count=1)
    with pytest.raises(httpx.TransportError):
        await client.get("/courses")
    assert (await client.get("/courses")).status_code == 200
    assert state.stats()["calls"] == {"GET /courses": {"200": 1}}
    assert state.stats()["faults_fired"] == {"drop_connection": 1}


async def test_fault_latency_delays_matching_requests(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults.inject(FaultKind.LATENCY, latency_ms=60, count=1, path="/courses")
    started = time.perf_counter()
    response = await client.get("/courses")
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.05


async def test_fault_probability_fires_some_of_the_time(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults.inject(FaultKind.SERVER_ERROR, probability=0.5, method="GET")
    statuses = [(await client.get("/courses")).status_code for _ in range(40)]
    assert 0 < statuses.count(503) < 40
    assert (await client.post("/groups", json={"name": "A"})).status_code == 200


def test_fault_rule_refuses_a_status_outside_its_kind(state: SandboxState) -> None:
    with pytest.raises(ValueError, match="answers one of"):
        state.faults.inject(FaultKind.CLOUDFLARE, status=503)


async def test_admin_faults_arm_list_and_clear(
    client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    armed = await admin.post("/faults", json={"kind": "server_error", "status": 502, "count": 1})
    listed = (await admin.get("/faults")).json()
    hit = await client.get("/courses")
    await admin.post("/faults", json={"outage": True})
    down = await client.get("/courses")
    cleared = (await admin.delete("/faults")).json()
    assert armed.status_code == 200
    assert listed["rules"][0]["status"] == 502
    assert hit.status_code == 502
    assert (down.status_code, down.json()) == (503, {"error": "Service Unavailable"})
    assert cleared == {"outage": False, "rules": [], "fired": {"server_error": 1}}
    assert (await client.get("/courses")).status_code == 200


async def test_admin_faults_refuse_an_unknown_kind(admin: httpx.AsyncClient) -> None:
    response = await admin.post("/faults", json={"kind": "meteor"})
    assert response.status_code == 400
    assert (
        await admin.post("/faults", json={"kind": "cloudflare", "status": 200})
    ).status_code == 400


async def test_admin_stats_count_calls_by_endpoint_and_status(
    client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    user_id = await new_user(client)
    await client.get(f"/users/{user_id}")
    await client.get("/users/999")
    stats = (await admin.get("/stats")).json()
    assert stats["calls"] == {
        "GET /users/{id}": {"200": 1, "404": 1},
        "POST /users": {"201": 1},
    }
    assert stats["total_calls"] == 3
    assert stats["rate_limited"] == 0
    assert stats["records"]["users"] == 1


async def test_admin_enrollments_show_each_course_enrolled_once(
    client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    user_id = await new_user(client)
    first = await client.post("/enrollments", json={"user_id": user_id, "course_id": 1001})
    await client.put(
        f"/enrollments/{first.json()['id']}", json={"activated_at": "2026-08-05T16:00:00Z"}
    )
    report = (await admin.get("/enrollments")).json()
    assert report["total_enrollments"] == 1
    (row,) = report["items"]
    assert (row["user_id"], row["user_email"], row["course_id"]) == (
        user_id,
        "ada@example.org",
        1001,
    )
    assert (row["created"], row["updated"]) == (1, 1)
    assert [e["is_free_trial"] for e in row["enrollments"]] == [False]


async def test_apps_share_no_state(settings: SandboxSettings) -> None:
    first, second = create_app(settings), create_app(settings)
    async with client_of(first, key_headers(settings)) as client:
        await new_user(client)
    assert len(first.state.sandbox.store.users) == 1
    assert second.state.sandbox.store.users == {}


def test_dropped_connection_is_an_httpx_transport_error() -> None:
    assert issubclass(ConnectionDropped, httpx.TransportError)
