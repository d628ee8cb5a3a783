"""An in-process Thinkific sandbox, clients with and without credentials, and the OpenAPI
contract the sandbox enforces (kept in the repository, so every test runs on a fresh clone)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from starlette.applications import Starlette

from sandboxes.thinkific import API_BASE, SandboxSettings, SandboxState, create_app
from sandboxes.thinkific.contract import load_contract

BASE_URL = "https://api.thinkific.com"
# 2026-08-05T16:34:19Z, 41 s before the minute boundary of the live rate-limit capture
# (ratelimit-reset: 1785947700000, API-NOTES §2.5).
START = 1785947659.0
# The vendor's full description, when it sits beside the checkout: a cross-check only.
VENDORED_OPENAPI = (
    Path(__file__).resolve().parents[4] / "shared" / "api-reference" / "thinkific-openapi.yaml"
)


class Clock:
    """Epoch seconds that a test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(clock: Clock) -> SandboxSettings:
    return SandboxSettings(clock=clock, random_seed=7)


@pytest.fixture
def app(settings: SandboxSettings) -> Starlette:
    return create_app(settings)


@pytest.fixture
def state(app: Starlette) -> SandboxState:
    sandbox: SandboxState = app.state.sandbox
    return sandbox


def key_headers(settings: SandboxSettings) -> dict[str, str]:
    return {"X-Auth-API-Key": settings.api_key, "X-Auth-Subdomain": settings.subdomain}


@asynccontextmanager
async def client_of(
    app: Starlette, headers: dict[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url=BASE_URL + API_BASE, headers=headers
    ) as client:
        yield client


@pytest.fixture
async def anonymous(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(app) as client:
        yield client


@pytest.fixture
async def client(app: Starlette, settings: SandboxSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(app, key_headers(settings)) as client:
        yield client


@pytest.fixture
async def admin(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the ``/__sandbox`` endpoints, which sit beside the API."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL + "/__sandbox"
    ) as client:
        yield client


@pytest.fixture(scope="session")
def openapi() -> dict[str, Any]:
    """The contract: Thinkific's OpenAPI pruned to the operations the sandbox serves."""
    return load_contract()


@pytest.fixture(scope="session")
def vendored_openapi() -> dict[str, Any]:
    if not VENDORED_OPENAPI.exists():
        pytest.skip(f"no vendored Thinkific OpenAPI beside the checkout ({VENDORED_OPENAPI})")
    spec: dict[str, Any] = yaml.safe_load(VENDORED_OPENAPI.read_text(encoding="utf-8"))
    return spec


def schema_properties(openapi: dict[str, Any], name: str) -> tuple[set[str], set[str]]:
    """A component schema's property names and required names."""
    schema = openapi["components"]["schemas"][name]
    return set(schema.get("properties", {})), set(schema.get("required", []))


def assert_matches_schema(openapi: dict[str, Any], name: str, body: dict[str, Any]) -> None:
    """Every key the sandbox sends is one the schema names, and every required one is sent."""
    properties, required = schema_properties(openapi, name)
    assert set(body) <= properties, set(body) - properties
    assert required <= set(body), required - set(body)


async def new_user(client: httpx.AsyncClient, email: str = "ada@example.org", **extra: Any) -> int:
    body = {"first_name": "Ada", "last_name": "Lovelace", "email": email, **extra}
    response = await client.post("/users", json=body)
    assert response.status_code == 201, response.text
    user_id: int = response.json()["id"]
    return user_id
