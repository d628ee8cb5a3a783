"""What an operator or a test may set on the Thinkific sandbox, fixed when the app is built."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

API_BASE = "/api/public/v1"


def default_seed_path() -> Path:
    return Path(__file__).with_name("seed.yaml")


@dataclass(frozen=True, slots=True)
class SandboxSettings:
    """Credentials, limits and the answers where real sites are known to differ.

    ``clock`` returns epoch seconds; it drives the rate-limit window, timestamps and
    ``expired``, so tests move time by hand instead of sleeping. ``random_seed`` makes group
    tokens and probabilistic faults repeatable.

    ``max_in_flight`` is off by default because the cap of 10 concurrent requests is reported
    by third parties only (API-NOTES §2.5); set it to 10 to rehearse that limit.
    ``enrollment_put_status`` is 204 as the OpenAPI says for ``PUT /enrollments/{id}``, or 200
    with an empty body as one client reports. ``cross_course_quirk`` makes
    ``query[course_id]`` also return the other-course enrollments of that course's users, as
    reported of the real list filter (API-NOTES §2.3).
    """

    api_key: str = "sandbox-api-key"
    subdomain: str = "sandbox"
    bearer_tokens: tuple[str, ...] = ("sandbox-access-token",)
    rate_limit_per_minute: int = 120
    max_in_flight: int | None = None
    enrollment_put_status: int = 204
    cross_course_quirk: bool = False
    seed_path: Path = field(default_factory=default_seed_path)
    random_seed: int | None = None
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        if self.enrollment_put_status not in (200, 204):
            raise ValueError("enrollment_put_status must be 204 (the spec) or 200 (reported)")
        if self.rate_limit_per_minute < 1:
            raise ValueError("rate_limit_per_minute must be at least 1")
