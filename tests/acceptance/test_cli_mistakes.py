"""Every wrong ``outbox`` call prints one clear line and exits non-zero, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import yaml

from tests.fixtures.processes import free_port


def outbox(*args: str, db_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dispatcher", *args],
        env={**os.environ, "OUTBOX_DATABASE_URL": db_url, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def one_clear_line(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["retry", "999999999"], ["no message 999999999", "dead_letters"]),
        (["retry", "99999999999999999999"], ["message_id"]),
        (["history", "0"], ["message_id"]),
        (["cancel", "1", "--reason", ""], ["--reason", "say why"]),
        (["cancel", "1", "--reason", "   "], ["--reason", "say why"]),
        (["status", "--database-url", "notaurl"], ["not a PostgreSQL connection string"]),
        (["sandbox", "--salesforce-port", "99999"], ["--salesforce-port", "65535"]),
        (["retry", "--dead", "--destination", "salesforc"], ["no destination 'salesforc'"]),
        (["replay", "--destination", "salesforc", "--since", "2026-01-01"], ["salesforc"]),
        (
            [
                "replay",
                "--destination",
                "webhook",
                "--since",
                "2026-02-01",
                "--until",
                "2026-01-01",
            ],
            ["--until", "is not after --since"],
        ),
        (["dead", "--destination", "salesforc"], ["known: null, salesforce"]),
        (["nosuchcommand"], ["No such command"]),
    ],
)
def test_cli_wrong_call_prints_one_clear_line(
    db_url: str, args: list[str], words: list[str]
) -> None:
    one_clear_line(outbox(*args, db_url=db_url), *words)


def test_cli_retry_dead_of_a_known_destination_still_works(db_url: str) -> None:
    result = outbox("retry", "--dead", "--destination", "webhook", db_url=db_url)
    assert result.returncode == 0, result.stderr


def test_cli_unreachable_database_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/nothing?connect_timeout=2"
    one_clear_line(outbox("status", db_url=url), "cannot connect to the database")


def test_cli_mappings_check_against_unreachable_org(db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "outbox.yaml"
    options = {"instance_url": f"http://127.0.0.1:{free_port()}"}
    destination = {"type": "salesforce", "sandbox": True, "options": options}
    config.write_text(yaml.safe_dump({"destinations": {"salesforce": destination}}))
    result = outbox("mappings", "check", "--against", "salesforce", "--config", str(config),
                    db_url=db_url)  # fmt: skip
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    (line,) = [line for line in result.stdout.splitlines() if "could not compare" in line]
    assert "ConnectError" in line


def test_run_refuses_a_destination_name_the_database_does_not_know(
    db_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "outbox.yaml"
    config.write_text(
        "dispatcher: {http_port: null}\n"
        "destinations:\n"
        "  salesforc:\n"
        "    type: webhook\n"
        "    url: http://127.0.0.1:9/hook\n"
    )
    result = outbox("run", "--config", str(config), "--no-migrate", db_url=db_url)
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    assert f"{config}:3" in result.stdout
    assert "no destination 'salesforc' in outbox.destinations" in result.stdout
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM outbox.attempts").fetchone() == (0,)
