"""Mappings in operation: drift against the org, the scheduled check, reload on SIGHUP."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import structlog
import yaml
from psycopg_pool import AsyncConnectionPool

from dispatcher.maintenance import check_drift
from dispatcher.maintenance.org import SalesforceOrg
from dispatcher.maintenance.scheduler import Job, JobContext, run_job
from dispatcher.mapping.reload import MappingSet
from outbox.resources import resource_dir
from sandboxes.salesforce import create_app
from sandboxes.serve import running_app
from tests.fixtures.processes import dispatchers, stop, wait_for, write_config


@pytest.fixture
def org() -> Iterator[tuple[str, Any]]:
    app = create_app()
    with running_app(app) as url:
        yield url, app.state.sandbox


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    async with AsyncConnectionPool(
        db_url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}
    ) as p:
        yield p


def _check(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "dispatcher",
            "mappings",
            "check",
            "--against",
            "salesforce",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def _plain_check() -> str:
    checked = subprocess.run(
        [sys.executable, "-m", "dispatcher", "mappings", "check"],
        capture_output=True, text=True, timeout=60, check=True,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    return checked.stdout


def test_mappings_check_against_org_reports_a_renamed_field(
    org: tuple[str, Any], tmp_path: Path
) -> None:
    url, sandbox = org
    config = tmp_path / "outbox.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "destinations": {
                    "salesforce": {
                        "type": "salesforce",
                        "sandbox": True,
                        "options": {"instance_url": url},
                    }
                }
            }
        )
    )
    clean = _check(config)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "0 drift finding(s)" in clean.stdout
    sandbox.faults.rename_field("Contact", "Email", "Email_Address__c")
    drifted = _check(config)
    assert drifted.returncode == 1
    assert "Contact.Email: missing_field" in drifted.stdout


async def test_drift_job_records_findings_for_dbas(
    org: tuple[str, Any], pool: AsyncConnectionPool[Any], conn: psycopg.Connection[Any]
) -> None:
    url, sandbox = org
    sandbox.faults.remove_picklist_value("Order", "Payment_Method__c", "Card")
    job = Job(
        "check_drift",
        300.0,
        check_drift.run,
        check_drift.Settings(SalesforceOrg({"instance_url": url}, sandbox=True)),
    )
    async with httpx.AsyncClient() as client:
        mappings = MappingSet(resource_dir("mappings"))
        context = JobContext(
            pool, "w", structlog.get_logger("test"), client=client, mappings=mappings
        )
        ran, detail = await run_job(job, context, force=True)
    assert ran
    assert detail is not None
    assert detail.startswith("1 drift finding(s)")
    rows = conn.execute(
        "SELECT object_name, field, kind FROM outbox.current_drift WHERE destination = 'salesforce'"
    ).fetchall()
    assert rows == [("Order", "Payment_Method__c", "picklist_value_gone")]
    version = conn.execute(
        "SELECT DISTINCT mapping_version FROM outbox.mapping_drift WHERE destination = 'salesforce'"
    ).fetchall()
    assert f"salesforce {version[0][0]}" in _plain_check()  # the version drift rows carry


def test_sighup_reloads_mappings_and_refuses_a_bad_edit(
    db_url: str, org: tuple[str, Any], tmp_path: Path
) -> None:
    url, _ = org
    folder = tmp_path / "mappings"
    shutil.copytree(resource_dir("mappings"), folder)
    config = write_config(
        tmp_path,
        salesforce={"type": "salesforce", "sandbox": True, "options": {"instance_url": url}},
    )
    data = yaml.safe_load(config.read_text())
    data["mappings_dir"] = str(folder)
    data["jobs"] = {"enabled": False}
    config.write_text(yaml.safe_dump(data))
    log = tmp_path / "log"
    with dispatchers(db_url, config, log) as (proc,):
        wait_for(lambda: "dispatcher started" in log.read_text())
        original = (folder / "salesforce.yaml").read_text()
        (folder / "salesforce.yaml").write_text(original + "\nnot: [valid\n")
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "mapping reload refused" in log.read_text())
        (folder / "salesforce.yaml").write_text(
            original.replace("Salesforce", "Salesforce (edited)", 1)
        )
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "mappings reloaded" in log.read_text())
        assert proc.poll() is None
        assert stop(proc) == 0
