"""What a command loads: the sandboxes never ride along with ``outbox run`` or an operator command.

Each check runs in a fresh interpreter, so the modules it finds loaded are the command's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

# Runs ``outbox run`` for real up to the daemon (configuration loaded, database resolved, the
# daemon and every destination builder imported), then the help of every operator command, and
# reports which modules are loaded.
RUN_PATH = """
import json, sys
from dispatcher import daemon
from dispatcher.cli.app import app

async def started(settings, url, **kwargs):
    print("DAEMON", url)

daemon.run = started
app(["run", "--no-migrate"], standalone_mode=False)
for command in ("status", "dead", "retry", "cancel", "replay", "history", "migrate", "jobs",
                "mappings", "db"):
    app([command, "--help"], standalone_mode=False)
print(json.dumps(sorted(sys.modules)))
"""


def _loaded(code: str) -> tuple[str, list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTBOX_")}
    env["OUTBOX_DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/never"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    *before, last = done.stdout.strip().splitlines()
    return "\n".join(before), json.loads(last)


def _sandboxes(modules: list[str]) -> list[str]:
    return [m for m in modules if m == "sandboxes" or m.startswith("sandboxes.")]


def test_cli_run_path_loads_no_sandbox_module() -> None:
    output, modules = _loaded(RUN_PATH)
    assert "DAEMON postgresql://nobody@127.0.0.1:1/never" in output  # the run command got there
    assert {"dispatcher.daemon", "dispatcher.destinations.registry"} <= set(modules)
    assert "dispatcher.destinations.salesforce.build" in modules
    assert "dispatcher.destinations.thinkific.build" in modules
    assert _sandboxes(modules) == []


def test_cli_app_loads_neither_daemon_nor_sandboxes() -> None:
    _, modules = _loaded(
        "import json, sys, dispatcher.cli.app; print(json.dumps(sorted(sys.modules)))"
    )
    assert _sandboxes(modules) == []
    heavy = {"dispatcher.daemon", "dispatcher.mapping", "alembic", "uvicorn", "starlette", "httpx"}
    assert heavy.isdisjoint(modules)


def test_import_outbox_loads_neither_dispatcher_nor_sandboxes() -> None:
    _, modules = _loaded("import json, sys, outbox; print(json.dumps(sorted(sys.modules)))")
    assert [m for m in modules if m.split(".")[0] in ("dispatcher", "sandboxes")] == []
