"""The dispatcher as operators run it: several real processes, a real webhook, real PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.fixtures.processes import (
    dispatchers,
    start_dispatcher,
    status_counts,
    stop,
    wait_for,
    write_config,
)
from tests.fixtures.webhook_server import Receiver, webhook_receiver

pytestmark = pytest.mark.slow


@pytest.fixture
def receiver() -> Any:
    with webhook_receiver() as r:
        yield r


def _publish_keyed(db_url: str, count: int, keys: int) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute(
            """
            INSERT INTO outbox.messages (destination, event_type, payload, ordering_key)
            SELECT 'webhook', 'test', jsonb_build_object('key', 'k' || (g %% %s), 'seq', g),
                   'k' || (g %% %s)
              FROM generate_series(1, %s) g
            """,
            (keys, keys, count),
        )


def _delivered(db_url: str, count: int) -> bool:
    return status_counts(db_url).get("delivered", 0) == count


def test_three_dispatchers_deliver_5000_messages_exactly_once_in_key_order(
    db_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path,
        webhook={
            "type": "webhook",
            "url": receiver.url,
            # Three dispatchers x 3 batches x 25 heads = 225 leased keys at most, fewer than
            # the 250 keys published: whichever two claim first, the third still finds heads
            # to claim while the gate below holds every answer. (With batches of 50 two
            # dispatchers could lease all 250 heads and the third wait on the gate forever.)
            "batch_size": 25,
            "concurrency": 3,
            "timeout_seconds": 120,  # longer than the receiver's gate below
        },
    )

    def three_hold_leases() -> bool:
        with psycopg.connect(db_url) as conn:
            row = conn.execute(
                "SELECT count(DISTINCT lease_owner) FROM outbox.messages WHERE status = 'in_flight'"
            ).fetchone()
        return row == (3,)

    # Two quick dispatchers could finish the work before a third, slowed by a busy machine,
    # claims anything: hold every answer until all three hold leases.
    receiver.gate = three_hold_leases
    log = tmp_path / "log"
    with dispatchers(db_url, config, log, count=3) as procs:
        wait_for(lambda: log.read_text().count("dispatcher started") == 3, timeout=60)
        _publish_keyed(db_url, 5000, keys=250)
        wait_for(lambda: _delivered(db_url, 5000), timeout=120)
        assert [stop(p) for p in procs] == [0, 0, 0]
    assert not receiver.gate_timed_out, "the third dispatcher never held a lease"
    assert len(receiver.counts) == 5000
    assert set(receiver.counts.values()) == {1}
    by_key: dict[str, list[int]] = {}
    for key, seq in receiver.order:
        by_key.setdefault(key, []).append(seq)
    assert all(seqs == sorted(seqs) for seqs in by_key.values())
    with psycopg.connect(db_url) as conn:
        workers = conn.execute("SELECT count(DISTINCT worker) FROM outbox.attempts").fetchone()
    assert workers == (3,)


def test_kill_9_mid_batch_loses_nothing(db_url: str, receiver: Receiver, tmp_path: Path) -> None:
    _publish_keyed(db_url, 200, keys=200)
    receiver.delay = 0.2
    config = write_config(
        tmp_path,
        dispatcher={"lease_seconds": 2, "reclaim_interval_seconds": 0.5},
        webhook={"type": "webhook", "url": receiver.url, "batch_size": 20, "concurrency": 2},
    )
    log = tmp_path / "log"
    victim = start_dispatcher(db_url, config, log)
    wait_for(lambda: receiver.total >= 20)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    assert status_counts(db_url).get("in_flight", 0) > 0  # it died holding leases
    with dispatchers(db_url, config, log) as (rescuer,):
        wait_for(lambda: _delivered(db_url, 200), timeout=60)
        assert stop(rescuer) == 0
    assert (
        len(receiver.counts) == 200
    )  # every message arrived; a few twice, as at-least-once allows
    with psycopg.connect(db_url) as conn:
        lapsed = conn.execute(
            "SELECT count(*) FROM outbox.attempts WHERE error_code = 'LEASE_EXPIRED'"
        ).fetchone()
    assert lapsed is not None
    assert lapsed[0] > 0


def test_graceful_shutdown_hands_back_leases(
    db_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    _publish_keyed(db_url, 40, keys=40)
    receiver.delay = 5.0
    config = write_config(
        tmp_path,
        dispatcher={"shutdown_grace_seconds": 0.5},
        webhook={"type": "webhook", "url": receiver.url, "batch_size": 10, "concurrency": 1},
    )
    with dispatchers(db_url, config, tmp_path / "log") as (proc,):
        wait_for(lambda: status_counts(db_url).get("in_flight", 0) == 10)
        started = time.monotonic()
        assert stop(proc) == 0
        assert time.monotonic() - started < 5
    counts = status_counts(db_url)
    assert counts.get("in_flight", 0) == 0
    with psycopg.connect(db_url) as conn:
        released = conn.execute(
            "SELECT count(*), max(m.attempts) FROM outbox.attempts a "
            "JOIN outbox.messages m ON m.id = a.message_id WHERE a.outcome = 'released'"
        ).fetchone()
    assert released == (10, 0)


def test_retry_after_permanent_and_breaker(db_url: str, receiver: Receiver, tmp_path: Path) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute("SELECT outbox.publish('webhook', 'test', '{\"n\": 1}', 'one')")
    receiver.script((503, {"Retry-After": "1"}), (503, {"Retry-After": "1"}), (422, {}))
    config = write_config(
        tmp_path,
        dispatcher={"poll_interval_seconds": 0.2},
        webhook={
            "type": "webhook",
            "url": receiver.url,
            "batch_size": 1,
            "breaker": {"failures": 2, "cooldown_seconds": 0.5},
        },
    )
    log = tmp_path / "log"
    with dispatchers(db_url, config, log) as (proc,):
        wait_for(lambda: status_counts(db_url).get("dead", 0) == 1, timeout=30)
        with psycopg.connect(db_url) as conn:  # a healthy delivery closes the breaker again
            conn.execute("SELECT outbox.publish('webhook', 'test', '{\"n\": 2}', 'two')")
        wait_for(lambda: status_counts(db_url).get("delivered", 0) == 1, timeout=30)
        assert stop(proc) == 0
    with psycopg.connect(db_url) as conn:
        attempts = conn.execute(
            "SELECT outcome::text, http_status, error_code, started_at "
            "FROM outbox.attempts WHERE message_id = 1 ORDER BY id"
        ).fetchall()
        last = conn.execute("SELECT last_error_code FROM outbox.messages WHERE id = 1").fetchone()
    assert [(a[0], a[1], a[2]) for a in attempts] == [
        ("retry", 503, "HTTP_503"),
        ("retry", 503, "HTTP_503"),
        ("dead", 422, "HTTP_422"),
    ]
    assert (attempts[1][3] - attempts[0][3]).total_seconds() >= 1.0  # Retry-After honoured
    assert last == ("HTTP_422",)
    states = [
        json.loads(line)["new"]
        for line in log.read_text().splitlines()
        if line.startswith("{") and "circuit breaker changed" in line
    ]
    assert states[:2] == ["open", "half_open"]
    assert states[-1] == "closed"


def test_dispatcher_survives_a_postgres_restart(
    receiver: Receiver, tmp_path: Path, pg_root: Path
) -> None:
    from dispatcher.cli.database import ensure_database, start_embedded
    from outbox import migrate

    root = pg_root
    server = start_embedded(root)
    url = ensure_database(server.get_uri(), "restart")
    migrate.upgrade(url)
    config = write_config(
        tmp_path,
        dispatcher={"poll_interval_seconds": 0.2},
        webhook={"type": "webhook", "url": receiver.url, "batch_size": 10},
    )
    with dispatchers(url, config, tmp_path / "log") as (proc,):
        _publish_keyed(url, 10, keys=10)
        wait_for(lambda: _delivered(url, 10))
        server.cleanup()  # stop PostgreSQL under the running dispatcher
        time.sleep(1.0)
        assert proc.poll() is None
        server = start_embedded(root)
        _publish_keyed(url, 10, keys=10)
        wait_for(lambda: _delivered(url, 20), timeout=60)
        assert stop(proc) == 0
    server.cleanup()
    assert len(receiver.counts) == 20


def test_run_refuses_a_broken_config_with_every_error(db_url: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    config = tmp_path / "bad.yaml"
    config.write_text("destinations:\n  crm:\n    type: webhook\n    batchsize: 5\n")
    result = subprocess.run(
        [sys.executable, "-m", "dispatcher", "run", "--config", str(config)],
        env={**os.environ, "OUTBOX_DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert f"{config}:4" in result.stdout
    assert "batchsize" in result.stdout


def test_heartbeat_keeps_the_lease_of_a_long_delivery(
    db_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    _publish_keyed(db_url, 1, keys=1)
    receiver.delay = 3.0  # twice the lease
    config = write_config(
        tmp_path,
        dispatcher={"lease_seconds": 1.5, "reclaim_interval_seconds": 0.3},
        webhook={"type": "webhook", "url": receiver.url, "timeout_seconds": 10},
    )
    with dispatchers(db_url, config, tmp_path / "log") as (proc,):
        wait_for(lambda: _delivered(db_url, 1), timeout=30)
        assert stop(proc) == 0
    with psycopg.connect(db_url) as conn:
        attempts = conn.execute("SELECT outcome::text FROM outbox.attempts").fetchall()
    assert attempts == [("delivered",)]  # never reclaimed as lapsed
    assert receiver.total == 1
