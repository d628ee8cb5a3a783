"""Scheduled work, once across the fleet: APScheduler in every daemon, one winner per tick.

Every dispatcher schedules every job; at each check the job's row in ``outbox.jobs`` decides.
Whoever moves ``next_run_at`` forward runs the tick, the others skip it, and a crashed holder's
run lapses at ``running_until`` (the job's ``hold_seconds`` after it started) so another
dispatcher can take the job over; the taker closes the lapsed run as ``lapsed``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx
import psycopg
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from psycopg_pool import AsyncConnectionPool

from dispatcher.destinations.salesforce.auth import SalesforceSessions
from dispatcher.mapping.reload import MappingSet
from outbox.queries import query

JobFunction = Callable[["JobContext"], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class JobContext:
    pool: AsyncConnectionPool[Any]
    worker_id: str
    log: Any
    # The job's own settings: its section of the configuration model, or a frozen record the
    # job module defines around it; None where a job has nothing to set.
    settings: Any = None
    client: httpx.AsyncClient | None = None
    sessions: SalesforceSessions | None = None  # the daemon's tokens, shared with deliveries
    mappings: MappingSet | None = None  # the mappings in use, reloads included


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    interval_seconds: float
    function: JobFunction
    settings: Any = None
    hold_seconds: float = 600.0  # a run still unfinished after this is presumed dead


async def run_job(job: Job, context: JobContext, *, force: bool = False) -> tuple[bool, str | None]:
    """Run one tick of ``job`` if this process wins it; return (ran, detail)."""
    async with context.pool.connection() as conn:
        await conn.execute(
            query("register_job"), {"name": job.name, "interval": job.interval_seconds}
        )
        won = await (
            await conn.execute(
                query("win_tick"),
                {
                    "name": job.name,
                    "worker": context.worker_id,
                    "hold_seconds": job.hold_seconds,
                    "force": force,
                },
            )
        ).fetchone()
        if won is None:
            return False, None
        if won[1]:
            context.log.warning(
                "scheduled job taken over from a lapsed holder",
                job=job.name,
                holder=won[1],
                runs_closed=won[2],
            )
        row = await (
            await conn.execute(query("start_run"), {"name": job.name, "worker": context.worker_id})
        ).fetchone()
    assert row is not None
    started = time.perf_counter()
    outcome, detail = "ok", ""
    try:
        detail = await job.function(replace(context, settings=job.settings))
    except Exception as exc:  # a failed job is recorded and retried next tick; never fatal
        outcome, detail = "failed", f"{type(exc).__name__}: {exc}"
        context.log.error("scheduled job failed", job=job.name, error=detail)
    async with context.pool.connection() as conn:
        await conn.execute(
            query("finish_run"),
            {
                "run_id": row[0],
                "name": job.name,
                "worker": context.worker_id,
                "outcome": outcome,
                "detail": detail[:2000],
            },
        )
    context.log.info(
        "scheduled job ran",
        job=job.name,
        outcome=outcome,
        detail=detail,
        ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return True, detail


def start_scheduler(jobs: list[Job], context: JobContext) -> AsyncIOScheduler:
    """Check each job often (at most every 10 s); the database decides who runs a due tick."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job in jobs:
        scheduler.add_job(
            _guarded,
            "interval",
            seconds=min(job.interval_seconds, 10.0),
            args=[job, context],
            id=job.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
    scheduler.start()
    return scheduler


async def _guarded(job: Job, context: JobContext) -> None:
    try:
        await run_job(job, context)
    except (TimeoutError, psycopg.Error, OSError) as exc:
        context.log.warning(
            "could not reach the database for a scheduled job", job=job.name, error=str(exc)
        )
