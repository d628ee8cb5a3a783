"""The org's daily API allocation, read from every answer, and a brake before it runs out.

Every REST response but the versions root carries ``Sforce-Limit-Info: api-usage=USED/MAX``
for the whole org's rolling 24 hours (API-NOTES §1.8, from the REST guide's "Limit Info
Header"). Other integrations share the same allocation, so once usage passes the configured
share this destination waits a little before each call and says so, leaving headroom for
them; the 403 at the very end is handled as a pause (see ``errors``), not here.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import structlog

_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")
WARN_EVERY = 60.0  # seconds between two warnings while over the share


@dataclass(frozen=True, slots=True)
class Usage:
    used: int
    allocation: int

    @property
    def share(self) -> float:
        return self.used / self.allocation if self.allocation else 0.0


def parse_usage(header: str | None) -> Usage | None:
    """``api-usage=18/5000`` (optionally followed by ``per-app-api-usage=...``)."""
    found = _USAGE.search(header or "")
    return Usage(int(found.group(1)), int(found.group(2))) if found else None


class ApiBudget:
    def __init__(
        self,
        share: float,
        delay_seconds: float,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.share = share
        self.delay_seconds = delay_seconds
        self.usage: Usage | None = None
        self.calls = 0
        self.delayed = 0
        self._sleep = sleep
        self._clock = clock
        self._warned_at = float("-inf")
        self._log = structlog.get_logger("dispatcher.salesforce.budget")

    def observe(self, response: httpx.Response) -> None:
        """Called for every answer (an httpx response hook), the token endpoint's included."""
        self.calls += 1
        usage = parse_usage(response.headers.get("sforce-limit-info"))
        if usage is not None:
            self.usage = usage

    @property
    def over_share(self) -> bool:
        return self.usage is not None and self.usage.share >= self.share

    async def pace(self) -> None:
        """Before a call: wait ``delay_seconds`` while the org is past the configured share."""
        if not self.over_share or self.delay_seconds <= 0:
            return
        assert self.usage is not None
        if self._clock() - self._warned_at >= WARN_EVERY:
            self._warned_at = self._clock()
            self._log.warning(
                "Salesforce API usage above the configured share; slowing down",
                used=self.usage.used, allocation=self.usage.allocation, share=self.share,
                delay_seconds=self.delay_seconds,
            )  # fmt: skip
        self.delayed += 1
        await self._sleep(self.delay_seconds)
