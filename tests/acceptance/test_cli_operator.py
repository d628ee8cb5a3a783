"""The operator commands as a person runs them against a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg


def _outbox(*args: str, db_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dispatcher", *args],
        env={**os.environ, "OUTBOX_DATABASE_URL": db_url, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _dead_message(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT outbox.publish('webhook', 'test', '{}')").fetchone()
        assert row is not None
        conn.execute(
            "UPDATE outbox.messages SET status = 'dead', attempts = 3, "
            "last_error_code = 'INVALID_FIELD', last_error = 'No such column' WHERE id = %s",
            (row[0],),
        )
        return int(row[0])


def test_cli_status_json_reports_backlog(db_url: str, tmp_path: Path) -> None:
    _dead_message(db_url)
    result = _outbox("status", "--json", db_url=db_url)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"destination": "webhook", "status": "dead", "messages": 1}.items() <= next(
        b for b in report["backlog"] if b["destination"] == "webhook"
    ).items()


def test_cli_dead_lists_and_retry_requeues(db_url: str) -> None:
    message_id = _dead_message(db_url)
    listed = _outbox("dead", db_url=db_url)
    assert "INVALID_FIELD" in listed.stdout
    assert str(message_id) in listed.stdout
    retried = _outbox("retry", str(message_id), "--reason", "fixed", db_url=db_url)
    assert retried.returncode == 0, retried.stderr
    again = _outbox("retry", str(message_id), db_url=db_url)
    assert again.returncode == 1  # no longer dead
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT m.status::text, a.actor LIKE 'cli:%' FROM outbox.messages m "
            "JOIN outbox.operator_actions a ON a.message_id = m.id ORDER BY a.id LIMIT 1"
        ).fetchone()
    assert row == ("pending", True)


def test_cli_cancel_requires_reason(db_url: str) -> None:
    message_id = _dead_message(db_url)
    missing = _outbox("cancel", str(message_id), db_url=db_url)
    assert missing.returncode == 2
    assert "--reason" in missing.stderr
    done = _outbox("cancel", str(message_id), "--reason", "duplicate order", db_url=db_url)
    assert done.returncode == 0, done.stderr
    history = _outbox("history", str(message_id), db_url=db_url)
    assert "cancel" in history.stdout
