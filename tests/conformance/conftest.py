"""Fixtures of the destination conformance suite: a sandbox org per test, a migrated outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette

from sandboxes.salesforce import SandboxSettings, create_app
from sandboxes.salesforce.settings import utc_now
from tests.conformance.salesforce_org import (
    BASE_URL,
    SECRET_ENV,
    Org,
    make_org,
    salesforce_config,
    seed_catalog,
)


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    return SandboxSettings(random_seed=7, clock=utc_now)


@pytest.fixture
def sandbox(sandbox_settings: SandboxSettings) -> Starlette:
    return create_app(sandbox_settings)


@pytest.fixture
def shop(conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(SECRET_ENV, "sandbox-consumer-secret")
    seed_catalog(conn)
    return conn


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    async with AsyncConnectionPool(
        db_url, min_size=1, max_size=4, open=False, kwargs={"autocommit": True}
    ) as opened:
        yield opened


@pytest.fixture
async def http(sandbox: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


@pytest.fixture
def org(
    shop: Any, sandbox: Starlette, pool: AsyncConnectionPool[Any], http: httpx.AsyncClient
) -> Org:
    return make_org(sandbox, pool, http, salesforce_config())
