"""Faults a test or an operator arms on purpose: latency, 5xx, Cloudflare 52x, 429, drops, outage.

A rule fires per API request (optionally only where the path contains ``path``, or for one
``method``), with a probability, and optionally only for the next ``remaining`` matching
requests. The outage switch refuses every API request until it is turned off.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import httpx

SERVER_ERROR_STATUSES = frozenset({500, 502, 503})
# Cloudflare's origin-side errors; Thinkific is served through Cloudflare (API-NOTES §2.5).
CLOUDFLARE_STATUSES = frozenset({520, 521, 522, 523, 524, 525, 526, 527, 530})


class FaultKind(StrEnum):
    LATENCY = "latency"
    SERVER_ERROR = "server_error"
    CLOUDFLARE = "cloudflare"
    RATE_LIMITED = "rate_limited"
    DROP_CONNECTION = "drop_connection"


_DEFAULT_STATUS = {
    FaultKind.SERVER_ERROR: 503,
    FaultKind.CLOUDFLARE: 520,
    FaultKind.RATE_LIMITED: 429,
}
_ALLOWED_STATUSES = {
    FaultKind.SERVER_ERROR: SERVER_ERROR_STATUSES,
    FaultKind.CLOUDFLARE: CLOUDFLARE_STATUSES,
    FaultKind.RATE_LIMITED: frozenset({429}),
}


@dataclass
class FaultRule:
    kind: FaultKind
    status: int | None = None
    probability: float = 1.0
    remaining: int | None = None
    latency_ms: int = 0
    path: str | None = None
    method: str | None = None

    def __post_init__(self) -> None:
        self.kind = FaultKind(self.kind)
        allowed = _ALLOWED_STATUSES.get(self.kind, frozenset())
        if self.status is None:
            self.status = _DEFAULT_STATUS.get(self.kind)
        elif self.status not in allowed:
            raise ValueError(f"a {self.kind} fault answers one of {sorted(allowed)}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability is between 0 and 1")
        if self.remaining is not None and self.remaining < 1:
            raise ValueError("count is at least 1")

    def matches(self, method: str, path: str) -> bool:
        return (self.path is None or self.path in path) and (
            self.method is None or self.method.upper() == method
        )

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "kind": self.kind.value}


@dataclass
class Faults:
    rng: random.Random
    rules: list[FaultRule] = field(default_factory=list)
    outage: bool = False
    fired: dict[str, int] = field(default_factory=dict)

    def inject(self, kind: FaultKind | str, **options: Any) -> FaultRule:
        """Arm a rule; ``count`` is accepted as the friendlier name of ``remaining``."""
        if "count" in options:
            options["remaining"] = options.pop("count")
        rule = FaultRule(FaultKind(kind), **options)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()
        self.outage = False

    def draw(self, method: str, path: str) -> list[FaultRule]:
        """The rules that fire for one request; each firing uses up one of its count."""
        fired = [rule for rule in list(self.rules) if self._fires(rule, method, path)]
        for rule in fired:
            self.fired[rule.kind.value] = self.fired.get(rule.kind.value, 0) + 1
        return fired

    def as_json(self) -> dict[str, Any]:
        return {
            "outage": self.outage,
            "rules": [rule.as_json() for rule in self.rules],
            "fired": dict(sorted(self.fired.items())),
        }

    def _fires(self, rule: FaultRule, method: str, path: str) -> bool:
        if not rule.matches(method, path) or self.rng.random() >= rule.probability:
            return False
        if rule.remaining is not None:
            rule.remaining -= 1
            if rule.remaining == 0:
                self.rules.remove(rule)
        return True


class ConnectionDropped(httpx.RemoteProtocolError):
    """The sandbox hung up mid-response.

    Over uvicorn the client sees the socket close with the body incomplete; in process,
    ``httpx.ASGITransport`` hands this exception to the caller, and since it is an httpx
    transport error the caller classifies it exactly as it would the real thing.
    """
