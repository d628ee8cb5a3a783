"""Prometheus metrics of one dispatcher process, on a registry of its own (no global state)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.outcomes = Counter(
            "outbox_messages_total",
            "Delivery attempts finished, by outcome.",
            ["destination", "event_type", "outcome"],
            registry=r,
        )
        self.attempt_seconds = Histogram(
            "outbox_attempt_duration_seconds",
            "Wall time of a batch delivery.",
            ["destination"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.claim_seconds = Histogram(
            "outbox_claim_duration_seconds",
            "Time to claim one batch.",
            ["destination"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.backlog = Gauge(
            "outbox_backlog_messages",
            "Live or dead messages, by status (sampled from the database).",
            ["destination", "status"],
            registry=r,
        )
        self.oldest_age = Gauge(
            "outbox_oldest_undelivered_age_seconds",
            "Age of the oldest message not yet delivered: the number to alert on.",
            ["destination"],
            registry=r,
        )
        self.breaker_open = Gauge(
            "outbox_breaker_state",
            "Circuit breaker: 0 closed, 1 half-open, 2 open.",
            ["destination"],
            registry=r,
        )
        self.api_budget_used = Gauge(
            "outbox_api_budget_used_ratio",
            "Share of the destination's API allocation used.",
            ["destination"],
            registry=r,
        )
        self.drift_findings = Gauge(
            "outbox_mapping_drift_findings",
            "Findings of the latest mapping drift check (0 when the org matches the mapping).",
            ["destination"],
            registry=r,
        )
        self.reconciliation_gaps = Gauge(
            "outbox_reconciliation_gaps",
            "Orders whose effects have not arrived where they must (outbox.reconciliation).",
            ["problem"],
            registry=r,
        )
        self.blocked_keys = Gauge(
            "outbox_blocked_keys",
            "Ordering keys whose head message keeps failing and holds the messages behind it.",
            ["destination"],
            registry=r,
        )
        self.blocked_key_seconds = Gauge(
            "outbox_blocked_key_oldest_seconds",
            "How long the longest-blocked ordering key has been held (0 when none is).",
            ["destination"],
            registry=r,
        )
        self.paused = Gauge(
            "outbox_destination_paused",
            "1 while the destination is paused (rate limit).",
            ["destination"],
            registry=r,
        )
