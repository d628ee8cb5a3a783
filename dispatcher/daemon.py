"""The composition root: the only place that builds pools, HTTP clients, workers and signals.

``outbox run`` calls ``run``. SIGTERM or SIGINT stops claiming and lets batches in flight finish
within the grace period, handing back the leases of anything cut short; a second signal exits at
once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import structlog
import uvicorn
from psycopg_pool import AsyncConnectionPool

from dispatcher.config import (
    Config,
    DestinationConfig,
    SalesforceDestinationConfig,
)
from dispatcher.core import claim
from dispatcher.core.breaker import CircuitBreaker
from dispatcher.core.errors import ConfigError, ConfigIssue
from dispatcher.core.listener import Listener
from dispatcher.core.metrics import Metrics
from dispatcher.core.worker import DestinationWorker
from dispatcher.destinations.context import DestinationContext
from dispatcher.destinations.http import BreakerTransport
from dispatcher.destinations.registry import build_destination
from dispatcher.destinations.salesforce import check_org_drift
from dispatcher.destinations.salesforce.auth import SalesforceSessions
from dispatcher.maintenance.schedule import scheduled_jobs
from dispatcher.maintenance.scheduler import Job, JobContext, run_job, start_scheduler
from dispatcher.mapping import DestinationMapping
from dispatcher.mapping.drift import DriftFinding
from dispatcher.mapping.reload import MappingSet
from dispatcher.ops import web
from dispatcher.ops.access import HOW_TO_CONFIGURE, Access
from dispatcher.ops.console import Console, Mapper
from dispatcher.ops.sampler import Sampler
from dispatcher.ops.server import EmbeddedServer
from outbox.queries import query
from outbox.resources import resource_dir


def new_worker_id() -> str:
    """Unique per process start, so a restarted worker never mistakes old leases for its own."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def check_destination_names(
    pool: AsyncConnectionPool[Any], config: Config, enabled: dict[str, DestinationConfig]
) -> None:
    """A configured name that is not in ``outbox.destinations`` (a typo like ``salesforc``)
    would be polled forever for messages no one can publish: refuse to start instead."""
    async with pool.connection() as conn:
        cursor = await conn.execute(query("destination_names"))
        known = [name for (name,) in await cursor.fetchall()]
    issues = [
        ConfigIssue(
            config.where("destinations", name),
            f"destinations.{name}",
            f"no destination {name!r} in outbox.destinations (known: {', '.join(known)})",
            f"use one of those names, or register it: INSERT INTO outbox.destinations (name) "
            f"VALUES ('{name}')",
        )
        for name in enabled
        if name not in known
    ]
    if issues:
        raise ConfigError(issues)


def new_breaker(config: Config, name: str) -> CircuitBreaker:
    settings = config.worker_settings(name)
    return CircuitBreaker(settings.breaker_threshold, settings.breaker_cooldown, time.monotonic)


def gated_client(breaker: CircuitBreaker, timeout: httpx.Timeout) -> httpx.AsyncClient:
    """A destination's own HTTP client: every call it makes passes the destination's breaker,
    so an open breaker stops calls already planned, not only the next claim."""
    transport = BreakerTransport(breaker, httpx.AsyncHTTPTransport())
    return httpx.AsyncClient(timeout=timeout, transport=transport)


def mapping_version(context: DestinationContext) -> Callable[[], str | None]:
    """The content hash of the mapping in use for this destination, recorded on every attempt."""
    mappings = context.mappings
    if mappings is None:
        return lambda: None

    def current() -> str | None:
        found = mappings.current.destinations.get(context.name)
        return found.version if found else None

    return current


# How long a connection of the claim pool lives, and so its plan of the claim at most (an
# ANALYZE of the messages table replaces the plan sooner): the plan's row estimates follow the
# table's size and statistics when it was made.
CLAIM_PLAN_LIFETIME_SECONDS = 60.0


async def run(config: Config, database_url: str, *, stopping: asyncio.Event | None = None) -> None:
    log = structlog.get_logger("dispatcher")
    stopping = stopping or asyncio.Event()
    worker_id = new_worker_id()
    metrics = Metrics()
    enabled = {name: d for name, d in config.destinations.items() if d.enabled}
    pool_size = config.dispatcher.pool_size or sum(d.concurrency for d in enabled.values()) + 2
    _install_signals(stopping, log)
    timeout = httpx.Timeout(max((d.timeout_seconds for d in enabled.values()), default=10.0))
    async with (
        httpx.AsyncClient(timeout=timeout) as client,
        AsyncConnectionPool(
            database_url, min_size=1, max_size=pool_size, open=False, kwargs=_session(config)
        ) as pool,
        AsyncConnectionPool(
            database_url,
            min_size=0,
            max_size=max(1, len(enabled)),
            max_lifetime=CLAIM_PLAN_LIFETIME_SECONDS,
            open=False,
            kwargs=_session(config),
            configure=claim.plan_once,
        ) as claims,
    ):
        await check_destination_names(pool, config, enabled)
        wakeups = {name: asyncio.Event() for name in enabled}
        mappings = load_mappings(config, enabled)
        breakers = {name: new_breaker(config, name) for name in enabled}
        clients = {name: gated_client(breakers[name], timeout) for name in enabled}
        sessions = SalesforceSessions()
        contexts = [
            DestinationContext(n, d, clients[n], pool, mappings, sessions)
            for n, d in enabled.items()
        ]
        workers = [
            DestinationWorker(
                build_destination(context),
                pool,
                worker_id,
                config.worker_settings(context.name),
                wakeup=wakeups[context.name],
                mapping_version=mapping_version(context),
                metrics=metrics,
                breaker=breakers[context.name],
                claims=claims,
            )
            for context in contexts
        ]
        sampler = Sampler(
            pool,
            metrics,
            config.dispatcher.sample_interval_seconds,
            served=config.dispatcher.http_port is not None,
        )
        background = [
            asyncio.create_task(Listener(database_url, wakeups).run(stopping)),
            asyncio.create_task(sampler.run(stopping)),
            *_http_server(config, metrics, sampler, pool, mappings, worker_id, log),
        ]
        _reload_on_hangup(mappings, log)
        jobs = scheduled_jobs(config)
        scheduler = start_scheduler(
            jobs,
            JobContext(
                pool, worker_id, log, client=client, sessions=sessions,
                mappings=mappings or job_mappings(config, jobs),
            ),
        )  # fmt: skip
        log.info("dispatcher started", worker=worker_id, destinations=sorted(enabled))
        grace = config.dispatcher.shutdown_grace_seconds
        await asyncio.gather(*(w.run(stopping, grace) for w in workers))
        scheduler.shutdown(wait=False)
        for task in background:  # hints and views only: nothing to finish
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        for worker in workers:
            await worker.destination.aclose()
        for destination_client in clients.values():
            await destination_client.aclose()
    log.info("dispatcher stopped", worker=worker_id)


async def run_job_now(database_url: str, job: Job, config: Config) -> tuple[bool, str | None]:
    """``outbox jobs run``: one tick of ``job`` now, with a pool and client of its own."""
    async with (
        httpx.AsyncClient() as client,
        AsyncConnectionPool(
            database_url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}
        ) as pool,
    ):
        log = structlog.get_logger("outbox.jobs")
        mappings = job_mappings(config, [job])
        context = JobContext(pool, new_worker_id(), log, client=client, mappings=mappings)
        return await run_job(job, context, force=True)


async def org_drift(
    org: SalesforceDestinationConfig, mapping: DestinationMapping
) -> tuple[DriftFinding, ...]:
    """``outbox mappings check --against salesforce``: the org's describe against ``mapping``."""
    async with httpx.AsyncClient(timeout=org.timeout_seconds) as client:
        return await check_org_drift(client, org.options, mapping, sandbox=org.sandbox)


def _http_server(
    config: Config,
    metrics: Metrics,
    sampler: Sampler,
    pool: AsyncConnectionPool[Any],
    mappings: MappingSet | None,
    worker_id: str,
    log: Any,
) -> list[asyncio.Task[None]]:
    """/metrics, /healthz, /readyz and the status page, on loopback unless configured.

    A port already taken (a second dispatcher on the same host) costs this process its page,
    never its deliveries.
    """
    top = config.dispatcher
    if top.http_port is None:
        return []
    try:
        sock = socket.create_server((top.http_host, top.http_port), reuse_port=False)
    except OSError as exc:
        log.warning("status page disabled: cannot listen", port=top.http_port, error=str(exc))
        return []
    access = Access.from_environment(os.environ, top.http_host)
    if access.problem or not (access.configured or access.open_views):
        log.warning(
            "console refuses pages and actions until an operator is configured",
            problem=access.problem,
            fix=HOW_TO_CONFIGURE,
        )
    app = web.create_app(
        metrics,
        sampler,
        Console(pool, access, mapper=_mapper(mappings)),
        mappings_ok=lambda: mappings is None or mappings.current is not None,
        worker_id=worker_id,
    )
    # log_config=None: uvicorn keeps its hands off logging, so its lines take our pipeline.
    server = EmbeddedServer(
        uvicorn.Config(app, log_level="warning", lifespan="off", log_config=None)
    )
    host, port = sock.getsockname()[:2]
    log.info("status page and metrics", url=f"http://{host}:{port}/")
    return [asyncio.create_task(server.serve(sockets=[sock]))]


def _mapper(mappings: MappingSet | None) -> Mapper | None:
    """The console's view of the mapping in use: always the current one, reloads included."""
    if mappings is None:
        return None
    return lambda destination, event_type, payload, lookup: mappings.current.apply(
        destination, event_type, payload, lookup
    )


def load_mappings(config: Config, enabled: dict[str, DestinationConfig]) -> MappingSet | None:
    """Native destinations need the field mappings; a broken mapping stops the start here."""
    if not any(d.type in ("salesforce", "thinkific") for d in enabled.values()):
        return None
    return MappingSet(config.mappings_dir or resource_dir("mappings"))


def job_mappings(config: Config, jobs: list[Job]) -> MappingSet | None:
    """The drift check compares the mapping in use; load it for the jobs when no destination
    has (every native destination disabled)."""
    if not any(job.name == "check_drift" for job in jobs):
        return None
    return MappingSet(config.mappings_dir or resource_dir("mappings"))


def _session(config: Config) -> dict[str, Any]:
    """Connection settings of the pool: autocommit, and the commit durability chosen."""
    kwargs: dict[str, Any] = {"autocommit": True}
    if not config.dispatcher.synchronous_commit:
        kwargs["options"] = "-c synchronous_commit=off"
    return kwargs


def _reload_on_hangup(mappings: MappingSet | None, log: Any) -> None:
    """SIGHUP re-reads the mapping files; a bad edit keeps the mapping in use and says why."""
    if mappings is None:
        return

    def reload() -> None:
        result = mappings.reload()
        if result.ok:
            log.info("mappings reloaded", version=result.version, changed=result.changed)
        else:
            log.error(
                "mapping reload refused; keeping the mapping in use",
                version=result.version,
                problems=[str(issue) for issue in result.issues],
            )

    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload)


def _install_signals(stopping: asyncio.Event, log: Any) -> None:
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        if stopping.is_set():
            log.warning("second signal; exiting at once", signal=signum)
            os._exit(128 + signum)
        log.info("stopping: no new claims, finishing batches in flight", signal=signum)
        stopping.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
