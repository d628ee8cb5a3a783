"""An in-process Salesforce sandbox and an authenticated client for each test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette

from sandboxes.salesforce import SandboxSettings, SandboxState, create_app

BASE_URL = "https://acme.my.salesforce.com"
V = "/services/data/v64.0"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(clock: Clock) -> SandboxSettings:
    return SandboxSettings(clock=clock, random_seed=7, query_batch_size=2000)


@pytest.fixture
def app(settings: SandboxSettings) -> Starlette:
    return create_app(settings)


@pytest.fixture
def state(app: Starlette) -> SandboxState:
    sandbox: SandboxState = app.state.sandbox
    return sandbox


@pytest.fixture
async def anonymous(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


async def sign_in(client: httpx.AsyncClient, settings: SandboxSettings) -> httpx.AsyncClient:
    form = {
        "grant_type": "client_credentials",
        "client_id": settings.client_id,
        "client_secret": settings.client_secret,
    }
    token = (await client.post("/services/oauth2/token", data=form)).json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return client


@asynccontextmanager
async def signed_in(settings: SandboxSettings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a sandbox built from ``settings``, for tests that need their own."""
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield await sign_in(client, settings)


@pytest.fixture
async def client(anonymous: httpx.AsyncClient, settings: SandboxSettings) -> httpx.AsyncClient:
    return await sign_in(anonymous, settings)
