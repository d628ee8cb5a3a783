"""The sandbox served by uvicorn on loopback, as the demo and benchmarks run it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from sandboxes.thinkific import API_BASE, FaultKind, SandboxSettings, create_app
from tests.sandboxes.thinkific.conftest import key_headers


@pytest.fixture
def served(app: Starlette) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}{API_BASE}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


async def test_served_sandbox_answers_with_rate_headers(
    served: str, settings: SandboxSettings
) -> None:
    async with httpx.AsyncClient(base_url=served, headers=key_headers(settings)) as client:
        response = await client.get("/courses")
    assert response.status_code == 200
    assert response.headers["ratelimit-reset"] == "1785947700000"


async def test_served_sandbox_drops_the_connection_mid_response(
    served: str, app: Starlette, settings: SandboxSettings
) -> None:
    app.state.sandbox.faults.inject(FaultKind.DROP_CONNECTION, count=1)
    async with httpx.AsyncClient(base_url=served, headers=key_headers(settings)) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/courses")
        assert (await client.get("/courses")).status_code == 200


def test_create_app_needs_no_arguments() -> None:
    """``outbox sandbox`` builds the app with the defaults."""
    assert create_app().state.sandbox.settings == SandboxSettings()
