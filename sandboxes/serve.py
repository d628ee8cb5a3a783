"""Serve sandboxes on loopback: for `outbox sandbox`, the demo, benchmarks and tests."""

from __future__ import annotations

import asyncio
import importlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from dispatcher.ops.server import EmbeddedServer


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


@contextmanager
def running_app(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve an ASGI app from a background thread; yield its base URL (port 0 picks a free one)."""
    sock = _bind(host, port)
    # log_config=None: in the demo's process the one logging pipeline stays in charge.
    server = EmbeddedServer(
        uvicorn.Config(app, log_level="warning", lifespan="off", log_config=None)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the server on {host}:{sock.getsockname()[1]} did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def sandbox_apps() -> dict[str, Any]:
    """The sandboxes this installation ships, by destination name."""
    apps: dict[str, Any] = {}
    for name in ("salesforce", "thinkific"):
        try:
            module = importlib.import_module(f"sandboxes.{name}")
        except ModuleNotFoundError:
            continue
        apps[name] = module.create_app()
    return apps


async def serve_sandboxes(host: str, salesforce_port: int, thinkific_port: int) -> None:
    """Serve both sandboxes until interrupted."""
    ports = {"salesforce": salesforce_port, "thinkific": thinkific_port}
    servers = [
        uvicorn.Server(uvicorn.Config(app, host=host, port=ports[name], log_level="info"))
        for name, app in sandbox_apps().items()
    ]
    await asyncio.gather(*(server.serve() for server in servers))
