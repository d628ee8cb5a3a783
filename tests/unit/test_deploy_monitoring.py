"""The shipped Grafana dashboard and Prometheus alerts speak of metrics the process exports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.metrics import MetricWrapperBase

from dispatcher.core.metrics import Metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "outbox-alerts.yaml"
DASHBOARD = DEPLOY / "grafana" / "outbox-dispatcher.json"
NAME = re.compile(r"\b(outbox_[a-z_]+)\b")
GROUPING = re.compile(r"\bby \(([^)]*)\)")
SELECTOR = re.compile(r"\{([^}]*)\}")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def exported() -> dict[str, set[str]]:
    """Every series name the process exposes, with the labels each one carries."""
    names: dict[str, set[str]] = {}
    for metric in vars(Metrics()).values():
        if not isinstance(metric, MetricWrapperBase):
            continue
        base = metric._name.removesuffix("_total")
        for suffix in SUFFIXES[metric._type]:
            labels = set(metric._labelnames) | ({"le"} if suffix == "_bucket" else set())
            names[base + suffix] = labels
    return names


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard_targets() -> list[dict[str, Any]]:
    document = json.loads(DASHBOARD.read_text())
    return [target for panel in document["panels"] for target in panel["targets"]]


def expressions() -> list[str]:
    variable = json.loads(DASHBOARD.read_text())["templating"]["list"][0]["query"]
    return [r["expr"] for r in rules()] + [t["expr"] for t in dashboard_targets()] + [variable]


def test_monitoring_names_only_metrics_the_process_exports() -> None:
    known = exported()
    used = {name for expr in expressions() for name in NAME.findall(expr)}
    assert used, "no outbox metric found in the deploy files"
    assert used <= set(known), f"not exported: {sorted(used - set(known))}"


def test_monitoring_groups_and_selects_by_labels_the_metrics_carry() -> None:
    known = exported()
    for expr in expressions():
        labels = {x.strip() for group in GROUPING.findall(expr) for x in group.split(",")}
        labels |= {
            pair.split("=")[0].strip().rstrip("!~")
            for selector in SELECTOR.findall(expr)
            for pair in selector.split(",")
            if pair.strip()
        }
        for name in NAME.findall(expr):
            missing = labels - known[name]
            assert not missing, f"{name} has no label {sorted(missing)} in: {expr}"


def test_monitoring_legends_use_labels_of_their_query() -> None:
    known = exported()
    for target in dashboard_targets():
        legend = set(re.findall(r"\{\{(\w+)\}\}", target["legendFormat"]))
        grouped = {x.strip() for g in GROUPING.findall(target["expr"]) for x in g.split(",")}
        assert legend <= grouped, target
        for name in NAME.findall(target["expr"]):
            assert legend <= known[name], target


def test_monitoring_dashboard_shows_every_exported_metric() -> None:
    on_dashboard = {name for t in dashboard_targets() for name in NAME.findall(t["expr"])}
    families = {name.removesuffix("_bucket").removesuffix("_sum").removesuffix("_count")
                for name in on_dashboard}  # fmt: skip
    every = {m._name for m in vars(Metrics()).values() if isinstance(m, MetricWrapperBase)}
    assert every <= families | {f.removesuffix("_total") for f in families}


def test_monitoring_alerts_cover_lag_dead_letters_breakers_blocked_keys_and_budget() -> None:
    watched = {name for rule in rules() for name in NAME.findall(rule["expr"])}
    assert {
        "outbox_oldest_undelivered_age_seconds",
        "outbox_messages_total",
        "outbox_breaker_state",
        "outbox_blocked_key_oldest_seconds",
        "outbox_api_budget_used_ratio",
    } <= watched
    for rule in rules():
        assert rule["alert"].startswith("Outbox")
        assert rule["annotations"]["summary"]
        assert rule["annotations"]["description"]
