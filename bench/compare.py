"""Our dispatcher against PgQueuer and procrastinate, draining the same no-op backlog.

    python -m bench.compare [--jobs 100000] [--processes 2] [--batch 100]
                            [--procrastinate-concurrency 16] [--timeout 600]

One PostgreSQL server, a scratch database per contender, so no schema or table bloat leaks from
one to the next. Each gets the same number of no-op jobs, enqueued in bulk before the clock
starts; then ``--processes`` real worker processes are started, and the clock stops when the
contender's own table shows every job done: our messages ``delivered``, PgQueuer's rows moved
from ``pgqueuer`` to its log, procrastinate's jobs ``succeeded``. Each library does the work a
real job would make it do (claim, run the handler, record the outcome); only the handler is
empty. A contender that cannot run here is reported with the reason and skipped, never guessed.

Settings: ours and PgQueuer take batches of ``--batch`` (PgQueuer on asyncpg, its fastest
driver); procrastinate fetches one job per call, so it gets ``--procrastinate-concurrency``
jobs in flight per process instead, and a connection pool that fits them. Its fetches are one at
a time per worker whatever the concurrency, so 2, 8, 16 and 32 drain at the same rate within the
noise here; 16 is a middle value, not a hidden handicap.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import psycopg
from psycopg import sql

from bench.dispatch import drain
from bench.harness import figure, machine
from dispatcher.cli.database import ensure_database, start_embedded
from outbox import migrate

NOOP = "noop"
ENQUEUE_CHUNK = 10_000
POLL_SECONDS = 0.05

Contender = Callable[[str, argparse.Namespace], "Drain"]


@contextmanager
def shared_server() -> Iterator[str]:
    """One server for every contender, so they differ only in what they run on it."""
    url = os.environ.get("OUTBOX_BENCH_DATABASE_URL")
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="outbox-compare-") as folder:
        server = start_embedded(Path(folder))
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


@contextmanager
def scratch(server_url: str) -> Iterator[str]:
    """An empty database of its own for each contender, dropped afterwards."""
    name = f"compare_{uuid.uuid4().hex[:8]}"
    url = ensure_database(server_url, name)
    try:
        yield url
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _tail(log: IO[bytes], lines: int = 5) -> str:
    log.seek(0)
    return " | ".join(log.read().decode(errors="replace").strip().splitlines()[-lines:])


@dataclass(frozen=True, slots=True)
class Drain:
    """How far a contender got: a run cut short by the timeout still has a true rate."""

    done: int
    seconds: float
    finished: bool

    @property
    def rate(self) -> float:
        return self.done / self.seconds


@dataclass(frozen=True, slots=True)
class Table:
    """How to read a contender's progress from its own table."""

    remaining: str  # SELECT EXISTS over jobs not yet done: cheap enough to ask 20 times a second
    done: str  # SELECT count(*) of jobs done, asked once at the end of a run cut short


def timed_drain(url: str, command: list[str], table: Table, args: argparse.Namespace) -> Drain:
    """From the first worker start until the table shows every job done, or the timeout.

    The poll holds one connection, so it costs the workers next to nothing; a worker that dies
    early ends the run with its last words instead of a silent hang.
    """
    with ExitStack() as stack, psycopg.connect(url, autocommit=True) as conn:
        logs = [stack.enter_context(tempfile.TemporaryFile()) for _ in range(args.processes)]
        started = time.perf_counter()
        procs = [subprocess.Popen(command, stdout=log, stderr=log) for log in logs]
        try:
            finished = _poll(conn, table, procs, logs, started + args.timeout)
            seconds = time.perf_counter() - started
            done = args.jobs if finished else _scalar(conn, table.done)
            return Drain(done=done, seconds=seconds, finished=finished)
        finally:
            _stop(procs)


def _poll(
    conn: psycopg.Connection[tuple[int]],
    table: Table,
    procs: list[subprocess.Popen[bytes]],
    logs: Sequence[IO[bytes]],
    deadline: float,
) -> bool:
    while _scalar(conn, table.remaining):
        for proc, log in zip(procs, logs, strict=True):
            if proc.poll() is not None:
                raise RuntimeError(f"a worker exited with {proc.returncode}: {_tail(log)}")
        if time.perf_counter() > deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True


def _scalar(conn: psycopg.Connection[tuple[int]], query: str) -> int:
    row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# Ours ------------------------------------------------------------------------------------------


def ours(url: str, args: argparse.Namespace) -> Drain:
    """bench.dispatch's own drain, so this figure and that benchmark's measure the same thing."""
    migrate.upgrade(url)
    # synchronous_commit stays on, as PgQueuer and procrastinate run by default.
    settings = argparse.Namespace(
        messages=args.jobs,
        processes=args.processes,
        batch=args.batch,
        concurrency=2,
        async_commit=False,
    )
    rate = drain(url, settings)
    return Drain(done=args.jobs, seconds=args.jobs / rate, finished=True)


# PgQueuer --------------------------------------------------------------------------------------


async def _pgqueuer_fill(url: str, jobs: int) -> None:
    import asyncpg  # type: ignore[import-untyped]
    from pgqueuer import Queries

    conn = await asyncpg.connect(url)
    try:
        queries = Queries.from_asyncpg_connection(conn)
        await queries.install()
        for start in range(0, jobs, ENQUEUE_CHUNK):
            size = min(ENQUEUE_CHUNK, jobs - start)
            await queries.enqueue([NOOP] * size, [None] * size, [0] * size)
    finally:
        await conn.close()


async def _noop_job(job: object) -> None:
    """The handler does nothing: what is measured is the queue's own work around it."""


@asynccontextmanager
async def _pgqueuer_manager(url: str) -> AsyncIterator[object]:
    import asyncpg
    from pgqueuer import Queries, QueueManager

    conn = await asyncpg.connect(url)
    try:
        manager = QueueManager(Queries.from_asyncpg_connection(conn))
        manager.entrypoint(NOOP)(_noop_job)
        yield manager
    finally:
        await conn.close()


async def pgqueuer_worker(url: str, batch: int) -> None:
    """The body of one PgQueuer worker process: ``pgqueuer.run``, what ``pgq run`` calls.

    Not ``pgq run`` itself: its ``--log-level`` handling fails at start with the typer and click
    installed here, before any job is looked at.
    """
    import pgqueuer

    await pgqueuer.run(lambda: _pgqueuer_manager(url), batch_size=batch)


PGQUEUER_TABLE = Table(
    remaining="SELECT EXISTS (SELECT 1 FROM pgqueuer)",
    done="SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'",
)


def pgqueuer_(url: str, args: argparse.Namespace) -> Drain:
    """Done means gone from ``pgqueuer``: a job leaves it only with its outcome logged."""
    asyncio.run(_pgqueuer_fill(url, args.jobs))
    return timed_drain(url, _worker_command("pgqueuer", url, args), PGQUEUER_TABLE, args)


def _worker_command(library: str, url: str, args: argparse.Namespace) -> list[str]:
    return [
        *(sys.executable, "-m", "bench.compare", "--worker", library, "--url", url),
        *("--batch", str(args.batch)),
        *("--procrastinate-concurrency", str(args.procrastinate_concurrency)),
    ]


# procrastinate ---------------------------------------------------------------------------------


def _procrastinate_app(url: str, pool_size: int) -> object:
    import procrastinate

    connector = procrastinate.PsycopgConnector(conninfo=url, min_size=pool_size, max_size=pool_size)
    app = procrastinate.App(connector=connector)
    app.task(name=NOOP)(_noop_task)
    return app


async def _noop_task() -> None:
    """The task does nothing: what is measured is the queue's own work around it."""


async def _procrastinate_fill(url: str, jobs: int) -> None:
    import procrastinate

    app = _procrastinate_app(url, 2)
    assert isinstance(app, procrastinate.App)
    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        task = app.tasks[NOOP]
        for start in range(0, jobs, ENQUEUE_CHUNK):
            size = min(ENQUEUE_CHUNK, jobs - start)
            await task.batch_defer_async(*({} for _ in range(size)))


async def procrastinate_worker(url: str, concurrency: int) -> None:
    """The body of one procrastinate worker process: the library's worker, as its CLI runs it."""
    import procrastinate

    app = _procrastinate_app(url, concurrency + 2)
    assert isinstance(app, procrastinate.App)
    async with app.open_async():
        await app.run_worker_async(concurrency=concurrency, wait=True)


PROCRASTINATE_TABLE = Table(
    remaining="SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE status IN ('todo', 'doing'))",
    done="SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'",
)


def procrastinate_(url: str, args: argparse.Namespace) -> Drain:
    """Done means ``succeeded``: procrastinate keeps finished jobs unless told to delete them."""
    asyncio.run(_procrastinate_fill(url, args.jobs))
    command = _worker_command("procrastinate", url, args)
    return timed_drain(url, command, PROCRASTINATE_TABLE, args)


# Report ----------------------------------------------------------------------------------------


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def run_one(name: str, contender: Contender, server: str, args: argparse.Namespace) -> float:
    """A contender that fails is reported with its reason; the others still run."""
    try:
        with scratch(server) as url:
            result = contender(url, args)
    except Exception as exc:
        print(f"{name}: could not run here: {type(exc).__name__}: {exc}")
        return 0.0
    note = f"{args.jobs:,} no-op jobs"
    if not result.finished:
        note = f"stopped at {args.timeout:.0f} s: {result.done:,} of {args.jobs:,} jobs done"
    figure(f"{name} drain, {args.processes} processes", result.rate, "jobs/s", note)
    return result.rate


CONTENDERS: dict[str, Contender] = {
    "ours": ours,
    "pgqueuer": pgqueuer_,
    "procrastinate": procrastinate_,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--procrastinate-concurrency", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=600.0, help="per contender, seconds")
    parser.add_argument("--only", default=",".join(CONTENDERS), help="comma-separated names")
    parser.add_argument("--worker", choices=("pgqueuer", "procrastinate"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "pgqueuer":
        asyncio.run(pgqueuer_worker(args.url, args.batch))
        return
    if args.worker == "procrastinate":
        asyncio.run(procrastinate_worker(args.url, args.procrastinate_concurrency))
        return
    print(f"queue comparison · {machine()}")
    print(
        f"pgqueuer {_version('pgqueuer')} (asyncpg {_version('asyncpg')}) · "
        f"procrastinate {_version('procrastinate')}"
    )
    print(
        f"{args.processes} worker processes each; ours and pgqueuer take batches of {args.batch}; "
        f"procrastinate runs {args.procrastinate_concurrency} jobs at once per process"
    )
    with shared_server() as server:
        rates = {
            name: run_one(name, CONTENDERS[name], server, args) for name in args.only.split(",")
        }
    if rates.get("ours") and rates.get("pgqueuer"):
        figure("ours / pgqueuer", rates["ours"] / rates["pgqueuer"], "x", "higher is ours faster")


if __name__ == "__main__":
    # Through the importable module, not __main__: procrastinate warns about apps built in
    # __main__, and the worker processes must see the very same task names.
    from bench import compare

    compare.main()
