"""A periodic sample of the database's view of the outbox, for metrics, readiness and the page.

Sampling is off the delivery path: one short read every few seconds, from the views that read
only live rows, never a count over the whole history.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
import structlog
from psycopg_pool import AsyncConnectionPool

from dispatcher.core.metrics import Metrics
from outbox.queries import query


@dataclass
class Snapshot:
    lag: list[tuple[Any, ...]] = field(default_factory=list)
    backlog: list[tuple[Any, ...]] = field(default_factory=list)
    dead: list[tuple[Any, ...]] = field(default_factory=list)
    attempts: list[tuple[Any, ...]] = field(default_factory=list)
    sampled_at: float | None = None  # time.monotonic() of the last good sample
    error: str | None = None

    def fresh(self, within: float) -> bool:
        return self.sampled_at is not None and time.monotonic() - self.sampled_at <= within


class Sampler:
    # The heavier views (reconciliation joins the orders of a month) are read less often.
    SLOW_EVERY_SECONDS = 60.0
    # The per-minute roll-up for the console's charts: minutes are counted once they are this
    # old, at most this many a pass (a fresh database catches up on its first day in passes).
    SETTLE_SECONDS = 60
    ROLL_UP_MAX_MINUTES = 60

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        metrics: Metrics,
        interval: float,
        *,
        served: bool = True,
    ) -> None:
        """``served``: this process serves metrics and the status page. When it does not,
        nobody reads the snapshot's views (counts of every live row: about 0.1 s each with a
        backlog of 100,000), so only the lag is sampled, for the per-minute charts."""
        self.pool = pool
        self.metrics = metrics
        self.interval = interval
        self.served = served
        self._slow_at = float("-inf")
        self._minutes_pruned_at = float("-inf")
        self.snapshot = Snapshot()
        self.log = structlog.get_logger("dispatcher.ops.status")

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                await self.sample()
            except (psycopg.Error, OSError, TimeoutError) as exc:
                self.snapshot.error = str(exc)
                self.log.warning("could not sample the outbox", error=str(exc))
            else:
                try:
                    await self.keep_minutes()
                except (psycopg.Error, OSError, TimeoutError) as exc:
                    self.log.warning("could not keep the per-minute figures", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=self.interval)

    async def sample(self) -> None:
        async with self.pool.connection(timeout=5) as conn:
            if not self.served:
                self.snapshot = Snapshot(
                    lag=await _rows(conn, "lag", {}), sampled_at=time.monotonic()
                )
                return
            snapshot = Snapshot(
                lag=await _rows(conn, "lag", {}),
                backlog=await _rows(conn, "backlog", {}),
                dead=await _rows(conn, "dead_letters", {"destination": None, "limit": 20}),
                attempts=await _rows(conn, "recent_attempts", {"limit": 20}),
                sampled_at=time.monotonic(),
            )
            if time.monotonic() - self._slow_at >= self.SLOW_EVERY_SECONDS:
                self._slow_at = time.monotonic()
                await self._sample_slow(conn)
        self.snapshot = snapshot
        self._publish(snapshot)

    async def keep_minutes(self, now: datetime | None = None) -> None:
        """Record this sample's lag in its minute and roll finished minutes up (charts)."""
        lag = self.snapshot.lag
        async with self.pool.connection(timeout=5) as conn:
            await conn.execute(
                query("record_lag_minute"),
                {
                    "now": now,
                    "destinations": [row[0] for row in lag],
                    "ages": [row[1] for row in lag],
                    "undelivered": [row[2] for row in lag],
                },
            )
            await roll_up_minutes(conn, now, self.SETTLE_SECONDS, self.ROLL_UP_MAX_MINUTES)
            if self._slow_at == self._minutes_pruned_at:
                return
            self._minutes_pruned_at = self._slow_at
            await conn.execute(query("prune_minutes"), {"now": now})

    async def _sample_slow(self, conn: psycopg.AsyncConnection[Any]) -> None:
        for destination, findings in await _rows(conn, "drift_counts", {}):
            self.metrics.drift_findings.labels(destination).set(findings)
        self.metrics.blocked_keys.clear()
        self.metrics.blocked_key_seconds.clear()
        for destination, keys, seconds in await _rows(conn, "blocked_key_counts", {}):
            self.metrics.blocked_keys.labels(destination).set(keys)
            self.metrics.blocked_key_seconds.labels(destination).set(seconds)
        self.metrics.reconciliation_gaps.clear()
        for problem, count in await _rows(conn, "reconciliation_counts", {}):
            self.metrics.reconciliation_gaps.labels(problem).set(count)

    def _publish(self, snapshot: Snapshot) -> None:
        self.metrics.backlog.clear()
        for destination, status, messages, _age, _next in snapshot.backlog:
            self.metrics.backlog.labels(destination, status).set(messages)
        for destination, age, _count, paused in snapshot.lag:
            self.metrics.oldest_age.labels(destination).set(age)
            self.metrics.paused.labels(destination).set(1 if paused else 0)


async def roll_up_minutes(
    conn: psycopg.AsyncConnection[Any], now: datetime | None, settle: float, most: int
) -> bool:
    """One pass of the per-minute roll-up (``settle`` seconds behind now, ``most`` minutes),
    unless another dispatcher is making one or no finished minute is left; says if it made one."""
    params = {"now": now, "settle_seconds": settle, "max_minutes": most}
    async with conn.transaction():
        span = await (await conn.execute(query("roll_up_span"), params)).fetchone()
        if span is None or span[1] <= span[0]:
            return False
        await conn.execute(query("roll_up_count"), {"since": span[0], "until": span[1]})
        await conn.execute(query("roll_up_advance"), {"until": span[1]})
    return True


async def _rows(
    conn: psycopg.AsyncConnection[Any], name: str, params: dict[str, Any]
) -> list[tuple[Any, ...]]:
    cursor = await conn.execute(query(name), params)
    return list(await cursor.fetchall())
