"""The shipped sample configuration is one the daemon accepts."""

from __future__ import annotations

from pathlib import Path

from dispatcher.config import load

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "outbox.yaml"


def test_sample_config_loads_with_its_secrets_set() -> None:
    env = {"SALESFORCE_CLIENT_SECRET": "s", "THINKIFIC_API_KEY": "k"}
    config = load(SAMPLE, environ=env)
    assert sorted(config.destinations) == ["salesforce", "thinkific"]
    assert config.jobs.prune_history.retention_days == 30
