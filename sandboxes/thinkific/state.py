"""Everything one sandbox site holds, built fresh by each ``create_app``, reachable from the app."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from sandboxes.thinkific.faults import Faults
from sandboxes.thinkific.ratelimit import RateLimiter
from sandboxes.thinkific.seed import Catalog, load_seed
from sandboxes.thinkific.settings import SandboxSettings
from sandboxes.thinkific.store import Store
from sandboxes.thinkific.wire import iso


@dataclass
class Traffic:
    """What the site has answered, so tests and benchmarks can count calls and 429s served."""

    calls: Counter[tuple[str, int]] = field(default_factory=Counter)  # (endpoint, status)
    rate_limited: int = 0
    concurrency_limited: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0

    def as_json(self) -> dict[str, Any]:
        by_endpoint: dict[str, dict[str, int]] = {}
        for (endpoint, status), count in sorted(self.calls.items()):
            by_endpoint.setdefault(endpoint, {})[str(status)] = count
        return {
            "calls": by_endpoint,
            "total_calls": sum(self.calls.values()),
            "rate_limited": self.rate_limited,
            "concurrency_limited": self.concurrency_limited,
            "peak_in_flight": self.peak_in_flight,
        }


@dataclass
class SandboxState:
    settings: SandboxSettings
    catalog: Catalog
    store: Store
    faults: Faults
    limiter: RateLimiter
    rng: random.Random
    started_at: datetime
    traffic: Traffic = field(default_factory=Traffic)

    @classmethod
    def build(cls, settings: SandboxSettings) -> SandboxState:
        rng = random.Random(settings.random_seed)
        return cls(
            settings=settings,
            catalog=load_seed(settings.seed_path),
            store=Store(),
            faults=Faults(random.Random(rng.random())),
            limiter=RateLimiter(settings.rate_limit_per_minute, settings.clock),
            rng=rng,
            started_at=datetime.fromtimestamp(int(settings.clock()), UTC),
        )

    def now(self) -> datetime:
        """The injected clock as a UTC datetime, truncated to the second the API shows."""
        return datetime.fromtimestamp(int(self.settings.clock()), UTC)

    def stats(self) -> dict[str, Any]:
        store = self.store
        return {
            **self.traffic.as_json(),
            "faults_fired": dict(sorted(self.faults.fired.items())),
            "records": {
                "users": len(store.users),
                "enrollments": len(store.enrollments),
                "groups": len(store.groups),
                "group_users": len(store.memberships),
                "external_orders": len(store.external_orders),
            },
        }

    def enrollment_report(self) -> dict[str, Any]:
        """Enrollments grouped by user and course, with how often each pair was written.

        A correct integration leaves exactly one enrollment, created once, per course bought;
        redeliveries show up as ``updated`` and never as a second ``created``.
        """
        now = self.now()
        pairs: dict[tuple[int, int], list[dict[str, Any]]] = {}
        for enrollment in self.store.rows(self.store.enrollments):
            pairs.setdefault((enrollment.user_id, enrollment.course_id), []).append(
                {
                    "id": enrollment.id,
                    "is_free_trial": enrollment.activated_at is None,
                    "activated_at": iso(enrollment.activated_at),
                    "expiry_date": iso(enrollment.expiry_date),
                    "expired": enrollment.expired(now),
                }
            )
        rows = []
        for (user_id, course_id), writes in sorted(self.store.writes.items()):
            user = self.store.users.get(user_id)
            rows.append(
                {
                    "user_id": user_id,
                    "user_email": user.email if user else None,
                    "course_id": course_id,
                    "enrollments": pairs.get((user_id, course_id), []),
                    "created": writes.created,
                    "updated": writes.updated,
                }
            )
        return {"items": rows, "total_enrollments": len(self.store.enrollments)}


def state_of(request: Request) -> SandboxState:
    """The site behind the app that received ``request``."""
    state: SandboxState = request.app.state.sandbox
    return state
