"""The daemon's configuration: every problem at once, with file, line and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatcher.config import load
from dispatcher.core.errors import ConfigError


def test_config_reports_every_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "outbox.yaml"
    path.write_text(
        "dispatcher:\n"
        "  lease_seconds: 0\n"
        "  poll_intervall_seconds: 1\n"
        "destinations:\n"
        "  partner:\n"
        "    type: webhok\n"
        "  crm:\n"
        "    type: webhook\n"
        "    headers_env: {Authorization: CRM_TOKEN}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})
    issues = {issue.key: issue for issue in caught.value.issues}
    assert issues["dispatcher.lease_seconds"].where == f"{path}:2"
    assert issues["dispatcher.poll_intervall_seconds"].where == f"{path}:3"
    assert "remove it" in issues["dispatcher.poll_intervall_seconds"].fix
    assert issues["destinations.partner.type"].where == f"{path}:6"
    assert (
        "'null', 'webhook', 'salesforce' or 'thinkific'" in issues["destinations.partner.type"].fix
    )
    assert len(issues) == 3  # cross-checks wait until the schema is right


def test_config_cross_checks_missing_url_and_secret(tmp_path: Path) -> None:
    path = tmp_path / "outbox.yaml"
    path.write_text(
        "destinations:\n  crm:\n    type: webhook\n    headers_env: {Authorization: CRM_TOKEN}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})
    problems = sorted(issue.problem for issue in caught.value.issues)
    assert problems == ["a webhook needs a url", "environment variable CRM_TOKEN is not set"]
    assert all(issue.where == f"{path}:2" for issue in caught.value.issues)


def test_config_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "outbox.yaml"
    path.write_text("destinations:\n  crm: [\n")
    with pytest.raises(ConfigError, match=r"outbox\.yaml:3"):
        load(path, environ={})


def test_config_missing_file_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="OUTBOX_CONFIG"):
        load(tmp_path / "nope.yaml", environ={})


def test_config_valid_file_builds_worker_settings(tmp_path: Path) -> None:
    path = tmp_path / "outbox.yaml"
    path.write_text(
        "destinations:\n"
        "  crm:\n"
        "    type: webhook\n"
        "    url: http://127.0.0.1:9/hook\n"
        "    batch_size: 25\n"
        "    retry: {max_attempts: 4}\n"
    )
    config = load(path, environ={})
    settings = config.worker_settings("crm")
    assert (settings.batch_size, settings.policy.max_attempts) == (25, 4)


def test_config_refuses_a_stock_field_that_is_not_a_field_name(tmp_path: Path) -> None:
    path = tmp_path / "outbox.yaml"
    path.write_text("jobs:\n  pull_catalog:\n    safety_stock_field: 'Safety__c FROM Account --'\n")
    with pytest.raises(ConfigError) as raised:
        load(path, environ={})
    (issue,) = raised.value.issues
    assert (issue.where, issue.key) == (f"{path}:3", "jobs.pull_catalog.safety_stock_field")
    assert "API name" in issue.fix
