"""LISTEN/NOTIFY as a hint: wake the right destination loop the moment work is committed.

The listener holds one dedicated, direct connection (LISTEN does not survive a
transaction-pooling proxy). It checks the connection's health while idle and reconnects with
backoff; while it is down, every loop falls back to polling, which always works alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping

import psycopg
import structlog

CHANNEL = "outbox_messages"


class Listener:
    def __init__(
        self, url: str, wakeups: Mapping[str, asyncio.Event], *, health_interval: float = 5.0
    ) -> None:
        self.url = url
        self.wakeups = wakeups
        self.health_interval = health_interval
        self.connected = False
        self.log = structlog.get_logger("dispatcher.listener")

    async def run(self, stopping: asyncio.Event) -> None:
        failures = 0
        while not stopping.is_set():
            try:
                await self._listen(stopping)
                failures = 0
            except (psycopg.Error, OSError) as exc:
                self.connected = False
                failures += 1
                wait = min(30.0, 0.5 * 2 ** min(failures, 6))
                self.log.warning(
                    "LISTEN connection lost; polling meanwhile", error=str(exc), retry_in=wait
                )
                self._wake_all()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), timeout=wait)
        self.connected = False

    async def _listen(self, stopping: asyncio.Event) -> None:
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            self.connected = True
            self._wake_all()  # anything committed while we were away
            while not stopping.is_set():
                async for note in conn.notifies(timeout=self.health_interval):
                    self._wake(note.payload)
                    if stopping.is_set():
                        return
                await conn.execute("SELECT 1")  # health check while idle

    def _wake(self, payload: str) -> None:
        for name in payload.split(","):
            event = self.wakeups.get(name)
            if event is not None:
                event.set()

    def _wake_all(self) -> None:
        for event in self.wakeups.values():
            event.set()
