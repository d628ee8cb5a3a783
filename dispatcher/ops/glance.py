"""The console's front page: each destination at a glance, its charts, and the latest events.

Lag, backlog, dead letters and attempts come from the sampler's latest snapshot (no query per
view); the charts read the per-minute figures (``console_minutes``); breaker state and API budget
are this process's own gauges.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from dispatcher.core.metrics import Metrics
from dispatcher.core.redact import mask
from dispatcher.ops import charts
from dispatcher.ops.html import duration, h, link, moment, table
from dispatcher.ops.sampler import Snapshot
from outbox.queries import query

BREAKER = {0.0: "closed", 1.0: "half-open", 2.0: "open"}
_HERE = ' class="here"'


class Glance:
    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        metrics: Metrics,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.pool = pool
        self.metrics = metrics
        self.clock = clock

    async def minutes(self, now: datetime, window: str) -> list[dict[str, Any]]:
        async with self.pool.connection(timeout=5) as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(query("console_rolled_until"))
            mark = await cursor.fetchone()
            params = {
                "since": charts.since(now, window),
                "rolled_until": mark["rolled_until"] if mark else None,
            }
            await cursor.execute(query("console_minutes"), params)
            rows: list[dict[str, Any]] = await cursor.fetchall()
            return rows

    async def render(self, snapshot: Snapshot, worker_id: str, window: str) -> str:
        window = window if window in charts.WINDOWS else "hour"
        now = self.clock()
        rows = await self.minutes(now, "day" if window == "day" else "hour")
        hour_rows = rows if window == "hour" else await self.minutes(now, "hour")
        cards, graphs = [], []
        for destination, age, undelivered, paused in snapshot.lag:
            hour = charts.buckets(hour_rows, destination, now, "hour")
            shown = hour if window == "hour" else charts.buckets(rows, destination, now, "day")
            cards.append(self._card(destination, age, undelivered, paused, hour, now))
            graphs.append(
                f'<div class="chart" id="chart-{h(destination)}"><h3>{h(destination)}</h3>'
                + charts.counts_chart(shown, destination, window)
                + charts.age_chart(shown, destination, window)
                + "</div>"
            )
        toggle = " · ".join(
            f'<a href="/?window={w}" id="window-{w}"{_HERE if w == window else ""}>last {w}</a>'
            for w in charts.WINDOWS
        )
        sampled = "never" if snapshot.sampled_at is None else "every few seconds"
        return (
            "<h1>Outbox dispatcher</h1>"
            f'<p id="worker">worker {h(worker_id)} · sampled {sampled} · refreshes every 5 s</p>'
            + (
                f'<p class="refusal">Sampling failed: {h(mask(snapshot.error))}</p>'
                if snapshot.error
                else ""
            )
            + f'<div class="cards" id="destinations">{"".join(cards)}</div>'
            + f'<p class="legend">{toggle} · <span class="delivered-c">delivered</span> '
            '<span class="failed-c">failed</span> <span class="dead-c">dead</span> '
            '<span class="age-c">oldest undelivered age</span></p>'
            + f'<div class="charts">{"".join(graphs)}</div>'
            + _tables(snapshot, now)
        )

    def _card(
        self,
        destination: str,
        age: float,
        undelivered: int,
        paused: datetime | None,
        hour: Sequence[charts.Bucket],
        now: datetime,
    ) -> str:
        labels = {"destination": destination}
        breaker = self.metrics.registry.get_sample_value("outbox_breaker_state", labels)
        budget = self.metrics.registry.get_sample_value("outbox_api_budget_used_ratio", labels)
        state = (
            BREAKER.get(breaker or 0.0, "closed")
            if breaker is not None
            else "not run by this process"
        )
        facts = [
            ("undelivered", h(undelivered)),
            ("oldest waiting", h(duration(age)) if undelivered else "none"),
            ("drain", h(charts.drain_estimate(hour, undelivered))),
            ("breaker", f'<span class="{"open" if state == "open" else ""}">{h(state)}</span>'),
        ]
        if paused is not None and paused > now:
            facts.append(
                ("paused", f"until {moment(paused, now)} (a rate limit's reset or an operator)")
            )
        if budget is not None:
            facts.append(("API budget used", h(f"{budget:.0%}")))
        rows = "".join(f"<dt>{h(k)}</dt><dd>{v}</dd>" for k, v in facts)
        ident = f"card-{destination}"
        return f'<div class="card" id="{h(ident)}"><h2>{h(destination)}</h2><dl>{rows}</dl></div>'


def _tables(snapshot: Snapshot, now: datetime) -> str:
    backlog = [
        (h(d), h(s), h(n), h(duration(age)), moment(nxt, now))
        for d, s, n, age, nxt in snapshot.backlog
    ]
    dead = [
        (link(mid), h(dest), h(event), h(code), f'<span class="err">{h(mask(msg or ""))}</span>',
         h(attempts), moment(last, now))
        for mid, dest, event, code, msg, attempts, last in snapshot.dead
    ]  # fmt: skip
    attempts = [
        (moment(at, now), h(dest), link(mid), h(event), h(outcome), h(http), h(code),
         h(f"{ms:.0f}"))
        for at, dest, mid, event, outcome, http, code, ms in snapshot.attempts
    ]  # fmt: skip
    return (
        table(
            "backlog",
            "Backlog",
            ["destination", "status", "messages", "oldest", "next retry"],
            backlog,
        )
        + table(
            "dead",
            "Newest dead letters",
            ["id", "destination", "event", "code", "message", "attempts", "last attempt"],
            dead,
        )
        + table(
            "attempts",
            "Recent attempts",
            ["finished", "destination", "message", "event", "outcome", "http", "code", "ms"],
            attempts,
        )
    )
