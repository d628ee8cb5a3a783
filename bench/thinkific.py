"""Thinkific enrollments against the sandbox's real rate limit: throughput, budget used, calls.

The destination is built as the daemon builds it and fed batches the way a worker would, with
the sandbox served on loopback and the budget held in a scratch PostgreSQL. The first half of
the run enrolls new customers; the second half, the same customers buying further courses.
Prints figures; asserts nothing.

    python -m bench.thinkific                 # ~2 minutes at 120 requests per minute
    python -m bench.thinkific --seconds 70 --limit 60
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from psycopg_pool import AsyncConnectionPool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bench.harness import figure, machine, scratch_database
from dispatcher.config import destination_config
from dispatcher.core import destination as base
from dispatcher.core.destination import Destination, Result
from dispatcher.destinations.context import DestinationContext
from dispatcher.destinations.thinkific.build import build
from dispatcher.mapping.reload import MappingSet
from outbox.resources import resource_dir
from sandboxes.serve import running_app
from sandboxes.thinkific import API_BASE, SandboxSettings, create_app

KEY_ENV = "THINKIFIC_BENCH_API_KEY"
COURSES = (1001, 1002, 1003)
BATCH = 30


@dataclass
class Answers:
    """Every API answer's wall-clock second and status, to count budget use per window."""

    seen: list[tuple[float, int]] = field(default_factory=list)

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def recording(scope: Scope, receive: Receive, send: Send) -> None:
            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start" and API_BASE in scope["path"]:
                    self.seen.append((time.time(), int(message["status"])))
                await send(message)

            await app(scope, receive, sending)

        return recording


@dataclass
class Phase:
    name: str
    enrolled: int = 0
    calls: int = 0
    started: float = 0.0
    seconds: float = 0.0


def payload(email: str, course_id: int, expiry_year: int) -> dict[str, Any]:
    customer = {
        "id": f"c-{email.split('@')[0]}",
        "email": email,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "organisation": None,
        "locale": "en_US",
        "marketing_consent": True,
        "guest": False,
    }
    return {
        "enrollment_id": f"SO-{uuid.uuid4().hex[:8]}-1",
        "customer": customer,
        "order_number": "SO-1",
        "course_id": course_id,
        "seats": 1,
        "organisation": None,
        "product": {"sku": "DL-301", "name": "Infection control online"},
        "activated_at": "2026-11-25T10:00:00+00:00",
        "expiry_date": f"{expiry_year}-11-25T10:00:00+00:00",
    }


def messages(payloads: Iterator[dict[str, Any]]) -> Iterator[base.Message]:
    for number, body in enumerate(payloads, 1):
        yield base.Message(
            number, "enrollment.requested", None, f"bench:{number}", None, body, 1,
            datetime.now(UTC),
        )  # fmt: skip


async def run_phase(
    destination: Destination, phase: Phase, source: Iterator[base.Message], until: float, app: Any
) -> None:
    """Deliver batches until ``until``; rate-limited messages go round again, as in a worker."""
    state = app.state.sandbox
    calls_before = sum(state.traffic.calls.values())
    phase.started = time.monotonic()
    waiting: list[base.Message] = []
    while time.monotonic() < until:
        batch = waiting + list(itertools.islice(source, BATCH - len(waiting)))
        if not batch:
            break
        try:
            outcomes = await asyncio.wait_for(destination.deliver(batch), until - time.monotonic())
        except TimeoutError:
            break  # the phase is over; a batch cut short is not counted
        by_id = {m.id: m for m in batch}
        waiting = [by_id[o.message_id] for o in outcomes if o.result is Result.RATE_LIMITED]
        phase.enrolled += sum(o.result is Result.DELIVERED for o in outcomes)
    phase.seconds = time.monotonic() - phase.started
    phase.calls = sum(state.traffic.calls.values()) - calls_before


async def bench(url: str, seconds: float, limit: int) -> None:
    os.environ.setdefault(KEY_ENV, SandboxSettings().api_key)
    answers = Answers()
    app = create_app(SandboxSettings(rate_limit_per_minute=limit, random_seed=1))
    options = {"subdomain": "sandbox", "api_key_env": KEY_ENV, "requests_per_minute": limit}
    emails: list[str] = []

    def new_customers() -> Iterator[dict[str, Any]]:
        while True:
            emails.append(f"{uuid.uuid4().hex[:12]}@example.org")
            yield payload(emails[-1], COURSES[0], 2027)

    def returning() -> Iterator[dict[str, Any]]:
        for round_number in itertools.count(1):  # further courses, then renewals
            course = COURSES[round_number % len(COURSES)]
            for email in list(emails):
                yield payload(email, course, 2027 + round_number)

    with running_app(answers.wrap(app)) as site:
        options["base_url"] = site + API_BASE
        config = destination_config(type="thinkific", options=options, batch_size=BATCH)
        async with (
            httpx.AsyncClient() as http,
            AsyncConnectionPool(url, max_size=6, open=False, kwargs={"autocommit": True}) as pool,
        ):
            context = DestinationContext(
                "thinkific", config, http, pool, MappingSet(resource_dir("mappings"))
            )
            destination = build(context)
            start = time.monotonic()
            fresh, known = Phase("new customers"), Phase("returning customers")
            await run_phase(destination, fresh, messages(new_customers()), start + seconds / 2, app)
            await run_phase(destination, known, messages(returning()), start + seconds, app)
    report(answers, [fresh, known], limit, time.monotonic() - start)


def report(answers: Answers, phases: list[Phase], limit: int, elapsed: float) -> None:
    print(f"Thinkific destination · sandbox limit {limit}/min · {elapsed:.0f} s · {machine()}")
    total = sum(p.enrolled for p in phases)
    figure("enrollments per minute (whole run)", total / elapsed * 60, "/min")
    for p in phases:
        per = p.calls / p.enrolled if p.enrolled else float("nan")
        figure(f"  {p.name}: enrollments", p.enrolled, "", f"in {p.seconds:.0f} s")
        figure(f"  {p.name}: calls per enrollment", per, "calls")
    limited = sum(status == 429 for _, status in answers.seen)
    figure(
        "calls answered 429",
        100 * limited / max(1, len(answers.seen)),
        "%",
        f"{limited} of {len(answers.seen)}",
    )
    windows: dict[int, int] = {}
    for moment, status in answers.seen:
        if status != 429:
            windows[int(moment // 60)] = windows.get(int(moment // 60), 0) + 1
    whole = sorted(windows)[1:-1]  # the first and last windows were only partly in the run
    if whole:
        used = sum(windows[w] for w in whole) / (limit * len(whole))
        figure("budget used in whole minutes", 100 * used, "%", f"{len(whole)} window(s)")
    else:
        print("budget used in whole minutes: run for more than two minutes to measure")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=125.0, help="how long to run")
    parser.add_argument("--limit", type=int, default=120, help="the sandbox's requests/minute")
    args = parser.parse_args()
    with scratch_database() as url:
        asyncio.run(bench(url, args.seconds, args.limit))


if __name__ == "__main__":
    main()
