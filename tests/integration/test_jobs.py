"""Scheduled work on real PostgreSQL: once per tick across daemons, retention, reconciliation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
import structlog
from psycopg_pool import AsyncConnectionPool

from dispatcher.config import Config, PruneHistoryConfig
from dispatcher.maintenance import prune_history, reap_leases, reconcile
from dispatcher.maintenance.schedule import scheduled_jobs
from dispatcher.maintenance.scheduler import Job, JobContext, run_job
from outbox.shop import place_order
from tests.fixtures.catalog import line, order_factory, product_factory


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    async with AsyncConnectionPool(
        db_url, min_size=1, max_size=4, open=False, kwargs={"autocommit": True}
    ) as p:
        yield p


def _context(pool: AsyncConnectionPool[Any], worker: str) -> JobContext:
    return JobContext(pool, worker, structlog.get_logger("test"))


async def test_job_runs_once_per_tick_across_two_daemons(
    pool: AsyncConnectionPool[Any], conn: psycopg.Connection[Any]
) -> None:
    calls: list[str] = []

    async def work(context: JobContext) -> str:
        calls.append(context.worker_id)
        await asyncio.sleep(0.05)
        return "done"

    job = Job("probe", 3600.0, work)
    first = await asyncio.gather(
        run_job(job, _context(pool, "a")), run_job(job, _context(pool, "b"))
    )
    assert sorted(ran for ran, _ in first) == [False, True]
    again = await asyncio.gather(
        run_job(job, _context(pool, "a")), run_job(job, _context(pool, "b"))
    )
    assert [ran for ran, _ in again] == [False, False]  # the next tick is an hour away
    forced, detail = await run_job(job, _context(pool, "ops"), force=True)
    assert (forced, detail) == (True, "done")
    assert len(calls) == 2
    rows = conn.execute("SELECT name, outcome FROM outbox.job_runs ORDER BY id").fetchall()
    assert rows == [("probe", "ok"), ("probe", "ok")]


async def test_job_failure_is_recorded_not_raised(
    pool: AsyncConnectionPool[Any], conn: psycopg.Connection[Any]
) -> None:
    async def broken(context: JobContext) -> str:
        raise RuntimeError("source unreachable")

    ran, detail = await run_job(Job("broken", 60.0, broken), _context(pool, "a"))
    assert ran
    assert detail == "RuntimeError: source unreachable"
    row = conn.execute(
        "SELECT last_outcome, running_by FROM outbox.jobs WHERE name = 'broken'"
    ).fetchone()
    assert row == ("failed", None)


async def test_prune_history_removes_old_delivered_and_leaves_live_rows(
    pool: AsyncConnectionPool[Any], conn: psycopg.Connection[Any]
) -> None:
    conn.execute(
        """
        INSERT INTO outbox.messages (destination, event_type, payload, status, created_at)
        SELECT 'null', 'old', '{}', s::outbox.message_status, now() - interval '40 days'
          FROM unnest(ARRAY['delivered', 'delivered', 'pending', 'dead', 'retrying']) s
        """
    )
    conn.execute(
        "INSERT INTO outbox.messages (destination, event_type, payload, status) "
        "VALUES ('null', 'new', '{}', 'delivered')"
    )
    conn.execute(
        "INSERT INTO outbox.attempts (message_id, number, worker, started_at, finished_at, "
        "outcome, duration_ms) "
        "SELECT id, 1, 'w', created_at, created_at, 'delivered', 1 FROM outbox.messages"
    )
    conn.commit()
    job = Job(
        "prune_history",
        3600.0,
        prune_history.run,
        PruneHistoryConfig.model_construct(retention_days=30, batch_size=1),
    )
    ran, detail = await run_job(job, _context(pool, "a"))
    assert ran
    assert detail is not None
    assert detail.startswith("pruned 2 message(s)")
    left = conn.execute(
        "SELECT event_type, status::text FROM outbox.messages ORDER BY id"
    ).fetchall()
    assert left == [("old", "pending"), ("old", "dead"), ("old", "retrying"), ("new", "delivered")]
    assert conn.execute("SELECT count(*) FROM outbox.attempts").fetchone() == (4,)


async def test_prune_history_prunes_everything_old_when_no_message_is_recent(
    pool: AsyncConnectionPool[Any], conn: psycopg.Connection[Any]
) -> None:
    conn.execute(
        """
        INSERT INTO outbox.messages (destination, event_type, payload, status, created_at)
        SELECT 'null', 'old', '{}', 'delivered', now() - make_interval(days => 40 - s)
          FROM generate_series(1, 5) s
        """
    )
    conn.commit()
    job = Job(
        "prune_history",
        3600.0,
        prune_history.run,
        PruneHistoryConfig.model_construct(retention_days=30, batch_size=2),
    )
    ran, detail = await run_job(job, _context(pool, "a"))
    assert (ran, detail is not None and detail.startswith("pruned 5 message(s)")) == (True, True)
    assert conn.execute("SELECT count(*) FROM outbox.messages").fetchone() == (0,)


async def test_reconcile_finds_an_order_that_never_reached_salesforce(
    pool: AsyncConnectionPool[Any], conn: psycopg.Connection[Any]
) -> None:
    book = product_factory(conn)
    course = product_factory(conn, "digital_license", price="40.00")
    place_order(conn, order_factory(line(book), line(course), number="SO-LOST"))
    conn.execute("UPDATE commerce.orders SET placed_at = now() - interval '1 hour'")
    conn.commit()
    gaps = conn.execute(
        "SELECT problem, order_number, message_status FROM outbox.reconciliation ORDER BY 1"
    ).fetchall()
    assert gaps == [
        ("course_not_enrolled", "SO-LOST", "pending"),
        ("order_not_in_salesforce", "SO-LOST", "pending"),
    ]
    ran, detail = await run_job(Job("reconcile", 300.0, reconcile.run), _context(pool, "a"))
    assert ran
    assert detail == "1 course_not_enrolled, 1 order_not_in_salesforce; 0 dead letter(s)"
    conn.execute("UPDATE outbox.messages SET status = 'delivered'")
    conn.commit()
    assert conn.execute("SELECT count(*) FROM outbox.reconciliation").fetchone() == (0,)


async def test_reap_leases_takes_back_lapsed_work_of_any_destination(
    pool: AsyncConnectionPool[Any], conn: psycopg.Connection[Any]
) -> None:
    conn.execute(
        "INSERT INTO outbox.messages (destination, event_type, payload, status, attempts, "
        "lease_owner, lease_expires_at) "
        "VALUES ('thinkific', 'x', '{}', 'in_flight', 1, 'gone:1', now() - interval '1 minute')"
    )
    conn.commit()
    ran, detail = await run_job(Job("reap_leases", 30.0, reap_leases.run), _context(pool, "a"))
    assert ran
    assert detail is not None
    assert detail.startswith("reclaimed 1 lapsed lease(s)")
    row = conn.execute("SELECT status::text, last_error_code FROM outbox.messages").fetchone()
    assert row == ("retrying", "LEASE_EXPIRED")


async def test_prune_history_removes_old_rows_inserted_after_recent_ones(
    pool: AsyncConnectionPool[Any], conn: psycopg.Connection[Any]
) -> None:
    # Recent history first, then a backfill of old delivered rows: their ids come after
    # every recent id, yet age alone decides.
    conn.execute(
        "INSERT INTO outbox.messages (destination, event_type, payload, status) "
        "SELECT 'null', 'recent', '{}', 'delivered' FROM generate_series(1, 30)"
    )
    conn.execute(
        """
        INSERT INTO outbox.messages (destination, event_type, payload, status, created_at)
        SELECT 'null', 'backfill', '{}', s::outbox.message_status, now() - interval '200 days'
          FROM unnest(array_fill('delivered'::text, ARRAY[500]) || ARRAY['dead', 'pending']) s
        """
    )
    conn.commit()
    settings = PruneHistoryConfig(retention_days=30, batch_size=100)
    ran, detail = await run_job(
        Job("prune_history", 3600.0, prune_history.run, settings), _context(pool, "a")
    )
    assert ran
    assert detail is not None
    assert detail.startswith("pruned 500 message(s)")
    left = conn.execute(
        "SELECT event_type, status::text, count(*) FROM outbox.messages GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall()
    assert left == [
        ("backfill", "dead", 1),
        ("backfill", "pending", 1),
        ("recent", "delivered", 30),
    ]


async def test_prune_history_stops_at_the_per_run_cap(
    pool: AsyncConnectionPool[Any], conn: psycopg.Connection[Any]
) -> None:
    conn.execute(
        "INSERT INTO outbox.messages (destination, event_type, payload, status, created_at) "
        "SELECT 'null', 'old', '{}', 'delivered', now() - interval '40 days' "
        "FROM generate_series(1, 450)"
    )
    conn.commit()
    settings = PruneHistoryConfig(retention_days=30, batch_size=100, max_rows_per_run=250)
    job = Job("prune_history", 3600.0, prune_history.run, settings)
    _, detail = await run_job(job, _context(pool, "a"))
    assert detail is not None
    assert detail.startswith("pruned 250 message(s) older than 30 days (the per-run cap")
    assert conn.execute("SELECT count(*) FROM outbox.messages").fetchone() == (200,)
    _, detail = await run_job(job, _context(pool, "a"), force=True)
    assert detail is not None
    assert detail.startswith("pruned 200 message(s) older than 30 days, 0 stock movement(s)")
    assert conn.execute("SELECT count(*) FROM outbox.messages").fetchone() == (0,)


async def test_job_run_of_a_killed_holder_is_closed_as_lapsed_when_taken_over(
    pool: AsyncConnectionPool[Any], conn: psycopg.Connection[Any]
) -> None:
    started = asyncio.Event()

    async def hangs(context: JobContext) -> str:
        started.set()
        await asyncio.Event().wait()
        return "never"

    async def quick(context: JobContext) -> str:
        return "done"

    # The holder is killed mid-run: its task ends without recording anything.
    holder = asyncio.create_task(
        run_job(Job("sync", 3600.0, hangs, hold_seconds=1.0), _context(pool, "a"))
    )
    await asyncio.wait_for(started.wait(), timeout=10)
    holder.cancel()
    with pytest.raises(asyncio.CancelledError):
        await holder
    ran, _ = await run_job(
        Job("sync", 3600.0, quick, hold_seconds=1.0), _context(pool, "b"), force=True
    )
    assert not ran  # still inside the hold
    for _ in range(100):  # bounded wait for the hold to lapse on the server's clock
        lapsed = conn.execute(
            "SELECT running_until < now() FROM outbox.jobs WHERE name = 'sync'"
        ).fetchone()
        conn.commit()
        if lapsed == (True,):
            break
        await asyncio.sleep(0.05)
    ran, detail = await run_job(
        Job("sync", 3600.0, quick, hold_seconds=1.0), _context(pool, "b"), force=True
    )
    assert (ran, detail) == (True, "done")
    runs = conn.execute(
        "SELECT worker, outcome, detail, finished_at IS NOT NULL FROM outbox.job_runs ORDER BY id"
    ).fetchall()
    assert runs == [
        ("a", "lapsed", "the holder stopped before finishing; taken over by b", True),
        ("b", "ok", "done", True),
    ]


def test_scheduled_jobs_take_their_hold_from_the_configuration() -> None:
    config = Config.model_validate(
        {"jobs": {"prune_history": {"hold_seconds": 7200}, "reconcile": {"enabled": False}}}
    )
    holds = {job.name: job.hold_seconds for job in scheduled_jobs(config)}
    assert holds == {"reap_leases": 600.0, "prune_history": 7200.0}


async def test_prune_history_removes_old_stock_movements_only_once_salesforce_reflects_them(
    pool: AsyncConnectionPool[Any], conn: psycopg.Connection[Any]
) -> None:
    book = product_factory(conn)
    ids = [
        row[0]
        for row in conn.execute(
            "INSERT INTO commerce.stock_movements (product_id, units, reason, created_at) "
            "SELECT %s, 1, 'sale', now() - make_interval(days => d) "
            "FROM unnest(ARRAY[40, 40, 40, 1]) d RETURNING id",
            [book["id"]],
        ).fetchall()
    ]
    conn.execute(
        "UPDATE commerce.products SET stock_reflected_through = %s WHERE id = %s",
        [ids[1], book["id"]],
    )
    conn.commit()
    job = Job(
        "prune_history",
        3600.0,
        prune_history.run,
        PruneHistoryConfig(retention_days=30),
    )
    _, detail = await run_job(job, _context(pool, "a"))
    assert detail is not None
    assert ", 2 stock movement(s) Salesforce's count reflects" in detail
    left = conn.execute("SELECT id FROM commerce.stock_movements ORDER BY id").fetchall()
    assert left == [(ids[2],), (ids[3],)]  # old but not reflected yet; recent


async def test_reconcile_order_delivered_once_stays_reconciled_after_a_dead_replay(
    conn: psycopg.Connection[Any],
) -> None:
    book = product_factory(conn)
    place_order(conn, order_factory(line(book), number="SO-SEEN"))
    conn.execute("UPDATE commerce.orders SET placed_at = now() - interval '1 hour'")
    conn.execute("UPDATE outbox.messages SET status = 'delivered'")
    conn.execute("SELECT outbox.replay('salesforce', now() - interval '1 day')")
    conn.execute(
        "UPDATE outbox.messages SET status = 'dead', last_error_code = 'UNABLE_TO_LOCK_ROW'"
        " WHERE idempotency_key LIKE '%:replay:%'"
    )
    conn.commit()
    assert conn.execute("SELECT count(*) FROM outbox.reconciliation").fetchone() == (0,)
    conn.execute("UPDATE outbox.messages SET status = 'dead' WHERE status = 'delivered'")
    conn.commit()
    gaps = conn.execute("SELECT problem, message_status FROM outbox.reconciliation").fetchall()
    assert gaps == [("order_not_in_salesforce", "dead")]


async def test_prune_history_prunes_the_inbound_inbox_but_each_records_newest_row(
    pool: AsyncConnectionPool[Any], conn: psycopg.Connection[Any]
) -> None:
    # (object, record, SystemModstamp days ago, received days ago): old rows and recent ones
    # interleaved, so the batches walk past rows that stay.
    inbox = [
        ("Contact", "003A", 45, 40), ("Contact", "003B", 44, 40), ("Contact", "003A", 43, 40),
        ("Contact", "003C", 42, 40), ("Account", "001A", 42, 40), ("Contact", "003A", 41, 35),
        ("Contact", "003C", 2, 2), ("Contact", "003D", 1, 1), ("Contact", "003D", 0, 0),
    ]  # fmt: skip
    for object_name, record_id, stamp, received in inbox:
        conn.execute(
            "INSERT INTO outbox.inbound_changes (object_name, record_id, system_modstamp, "
            "received_at, status) VALUES (%s, %s, now() - make_interval(days => %s), "
            "now() - make_interval(days => %s), 'applied')",
            (object_name, record_id, stamp, received),
        )
    conn.commit()
    settings = PruneHistoryConfig.model_construct(
        retention_days=30, batch_size=1, max_rows_per_run=1_000_000
    )
    _, detail = await run_job(
        Job("prune_history", 3600.0, prune_history.run, settings), _context(pool, "a")
    )
    assert detail is not None
    assert ", 3 inbound change(s) and " in detail
    left = conn.execute(
        "SELECT object_name, record_id, (now()::date - system_modstamp::date) "
        "FROM outbox.inbound_changes ORDER BY id"
    ).fetchall()
    assert left == [
        ("Contact", "003B", 44),  # old, but the newest of its record: the no-echo rule reads it
        ("Account", "001A", 42),
        ("Contact", "003A", 41),
        ("Contact", "003C", 2),
        ("Contact", "003D", 1),  # recent rows all stay
        ("Contact", "003D", 0),
    ]
    _, again = await run_job(
        Job("prune_history", 3600.0, prune_history.run, settings), _context(pool, "a"), force=True
    )
    assert again is not None
    assert ", 0 inbound change(s) and " in again
