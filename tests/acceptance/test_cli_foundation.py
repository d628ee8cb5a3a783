"""The ``outbox`` command as an operator runs it: a real process against a real server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg

from outbox import migrate
from tests.fixtures.processes import wait_for


def _outbox(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dispatcher", *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_migrate_check_fails_when_behind_then_passes(db_url: str, tmp_path: Path) -> None:
    env = {"OUTBOX_DATABASE_URL": db_url}
    migrate.downgrade(db_url, "base")
    behind = _outbox("migrate", "--check", env=env, cwd=tmp_path)
    assert behind.returncode == 1, behind.stderr
    assert "database at nothing" in behind.stdout
    done = _outbox("migrate", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"revision {migrate.state(db_url).head}" in done.stdout
    assert _outbox("migrate", "--check", env=env, cwd=tmp_path).returncode == 0


def test_cli_db_url_prints_the_configured_url(db_url: str, tmp_path: Path) -> None:
    result = _outbox("db", "url", env={"OUTBOX_DATABASE_URL": db_url}, cwd=tmp_path)
    assert result.stdout.strip() == db_url


def test_cli_demo_delivers_orders_of_all_four_types_exactly_once(
    db_url: str, tmp_path: Path
) -> None:
    env = {
        "OUTBOX_DATABASE_URL": db_url,
        "OUTBOX_DATA_DIR": str(tmp_path / "data"),
        "COLUMNS": "200",
    }
    result = _outbox("demo", "--orders", "40", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✓" in result.stdout
    assert "each order exactly once in Salesforce" in result.stdout
    assert "each course purchase enrolled once" in result.stdout
    with psycopg.connect(db_url) as conn:
        kinds = conn.execute(
            """
            SELECT DISTINCT p.purchase_type::text FROM commerce.order_lines l
              JOIN commerce.products p ON p.id = l.product_id ORDER BY 1
            """
        ).fetchall()
        events = conn.execute(
            "SELECT DISTINCT event_type FROM outbox.messages ORDER BY 1"
        ).fetchall()
    assert kinds == [("digital_license",), ("free_event",), ("paid_event",), ("physical",)]
    assert events == [("enrollment.requested",), ("event.registered",), ("order.placed",)]


def test_cli_embedded_server_starts_reuses_and_stops(tmp_path: Path, pg_root: Path) -> None:
    env = {"OUTBOX_DATA_DIR": str(pg_root / "data"), "OUTBOX_DATABASE_URL": ""}
    first = _outbox("migrate", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert (pg_root / "data" / "pgdata" / "PG_VERSION").exists()
    assert not (pg_root / "data" / "pgdata" / "postmaster.pid").exists()  # stopped on exit
    url = _outbox("db", "url", env=env, cwd=tmp_path).stdout.strip()
    with psycopg.connect(url) as conn:  # kept running for a DBA, data from the first run
        assert conn.execute("SELECT count(*) FROM outbox.destinations").fetchone() == (4,)
    assert "stopped" in _outbox("db", "stop", env=env, cwd=tmp_path).stdout


def _stopped_while_loading(*args: str, env: dict[str, str], cwd: Path) -> int:
    """The exit status of ``outbox ARGS`` sent SIGTERM a moment after it started, while the
    command line is still loading (that takes most of a second)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dispatcher", *args],
        env={**os.environ, **env},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # The window under test opens when the entry point installs its handler and closes when
    # the command has loaded (most of a second later): send the signal as it opens, seen in
    # the kernel's mask of caught signals, rather than after a guessed delay.
    wait_for(lambda: _catches(proc.pid, signal.SIGTERM), timeout=30, interval=0.005)
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=60)


def _catches(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has a handler for ``signum`` (Linux: SigCgt in /proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    mask = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(mask, 16) & (1 << (signum - 1)))


def test_cli_run_stopped_while_starting_exits_cleanly(db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "outbox.yaml"
    config.write_text("destinations:\n  null: {type: null}\n")
    env = {"OUTBOX_DATABASE_URL": db_url}
    assert _stopped_while_loading("run", "--config", str(config), env=env, cwd=tmp_path) == 0
    # Any other command was cut short, and says so.
    assert _stopped_while_loading("migrate", env=env, cwd=tmp_path) == 143
