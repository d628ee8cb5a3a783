"""The site's request budget, shared by every dispatcher process and host, and paced to.

Thinkific allows 120 requests per minute per site, counted in windows aligned to the wall-clock
minute (API-NOTES §2.5). Each request first takes a grant from ``outbox.take_budget`` in
PostgreSQL, the one counter every process sees, so the fleet together never asks for more than
the limit and a 429 is the exception, not the pacing signal. Grants are taken a few at a time
(as many as requests are waiting, at most ``MAX_GRANTS``) and kept in hand only until their
window closes, so a process never sits on budget another could use in the next window.

Two guards keep the site's count and ours in step:

- no request starts in the last ``GUARD_SECONDS`` of a window: a request granted at 59.99 s
  would reach the site in its next minute and be counted twice;
- the site's own headers win: an answer with ``ratelimit-remaining: 0``, or a 429, holds every
  request of this process until ``ratelimit-reset`` (another integration may share the site).

At most ``max_in_flight`` requests are outstanding at once (the reported cap of 10).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from psycopg_pool import AsyncConnectionPool

from dispatcher.destinations.http import reset_after_seconds
from outbox.queries import query

WINDOW_SECONDS = 60
GUARD_SECONDS = 0.5
MARGIN_SECONDS = 0.05  # after a window turns, so the site has surely turned too
MAX_GRANTS = 4


@dataclass(frozen=True, slots=True)
class Grant:
    """One answer of ``outbox.take_budget``: how many, and the seconds until what."""

    granted: int
    retry_in: float
    window_left: float


class SiteBudget:
    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        destination: str,
        *,
        per_minute: int,
        max_in_flight: int,
        wall: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._pool = pool
        self._destination = destination
        self._per_minute = per_minute
        self._slots = asyncio.Semaphore(max_in_flight)
        self._lock = asyncio.Lock()
        self._wall, self._clock, self._sleep = wall, clock, sleep
        self._in_hand = 0
        self._window_end = float("-inf")  # on self._clock; learnt from every take
        self._hold_until = float("-inf")
        self._waiting = 0
        self.taken = 0  # grants taken from the shared budget by this process

    @asynccontextmanager
    async def request(self) -> AsyncIterator[None]:
        """Hold one of ``max_in_flight`` slots and one granted request for the block."""
        async with self._slots:
            self._waiting += 1
            try:
                async with self._lock:
                    await self._take_one()
            finally:
                self._waiting -= 1
            yield

    def observe(self, response: httpx.Response) -> None:
        """Hold further requests until the site's reset when it says the budget is spent."""
        remaining = response.headers.get("ratelimit-remaining")
        if response.status_code != 429 and remaining != "0":
            return
        wait = reset_after_seconds(response, now=self._wall())
        if wait is None:
            wait = max(0.0, self._window_end - self._clock())
        self._hold_until = max(self._hold_until, self._clock() + wait + MARGIN_SECONDS)
        self._in_hand = 0

    async def _take_one(self) -> None:
        while True:
            wait = self._wait_needed()
            if wait > 0:
                await self._sleep(wait)
                continue
            if self._in_hand:
                self._in_hand -= 1
                return
            grant = await self._take(min(MAX_GRANTS, max(1, self._waiting)))
            now = self._clock()
            self._window_end = now + grant.window_left
            self.taken += grant.granted
            if grant.granted:
                self._in_hand = grant.granted - 1
                return
            self._hold_until = now + grant.retry_in + MARGIN_SECONDS

    def _wait_needed(self) -> float:
        """Seconds to wait before a request may start: a hold, or the window's last moments."""
        now = self._clock()
        if now < self._hold_until:
            return self._hold_until - now
        if now >= self._window_end - GUARD_SECONDS:
            self._in_hand = 0  # grants of a closing window are never spent in the next one
        if now < self._window_end + MARGIN_SECONDS and now >= self._window_end - GUARD_SECONDS:
            return self._window_end + MARGIN_SECONDS - now
        return 0.0

    async def _take(self, wanted: int) -> Grant:
        params = {
            "destination": self._destination,
            "wanted": wanted,
            "per_window": self._per_minute,
            "window_seconds": WINDOW_SECONDS,
        }
        async with self._pool.connection() as conn:
            cursor = await conn.execute(query("thinkific_take_budget"), params)
            row = await cursor.fetchone()
        assert row is not None  # the function returns exactly one row
        return Grant(int(row[0]), float(row[1]), float(row[2]))
