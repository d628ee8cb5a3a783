"""Per-destination charts as inline SVG, drawn on the server from the per-minute figures.

No script and no library draws them: the page stays readable with JavaScript off and nothing is
fetched from another origin. Each bar of the hour chart is one minute; the day chart sums ten.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dispatcher.ops.html import duration, h

WINDOWS = {
    "hour": (timedelta(hours=1), timedelta(minutes=1)),
    "day": (timedelta(days=1), timedelta(minutes=10)),
}
WIDTH, HEIGHT, LEFT, BOTTOM = 600, 150, 44, 18
BASE = HEIGHT - BOTTOM
COUNTS = (("delivered", "#0e9f6e"), ("failed", "#c27803"), ("dead", "#e02424"))


@dataclass(frozen=True)
class Bucket:
    start: datetime
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    age: float | None = None  # the largest sampled age of the oldest undelivered message


def since(now: datetime, window: str) -> datetime:
    span, step = WINDOWS[window]
    return _floor(now, step) + step - span


def buckets(
    rows: Sequence[Mapping[str, Any]], destination: str, now: datetime, window: str
) -> list[Bucket]:
    """The window's buckets, oldest first, the current (partial) one last."""
    span, step = WINDOWS[window]
    start = since(now, window)
    count = span // step
    sums: list[dict[str, Any]] = [
        {"delivered": 0, "failed": 0, "dead": 0, "age": None} for _ in range(count)
    ]
    for row in rows:
        if row["destination"] != destination:
            continue
        index = (row["minute"] - start) // step
        if not 0 <= index < count:
            continue
        into = sums[index]
        for name, _ in COUNTS:
            into[name] += row[name]
        if row["oldest_age_seconds"] is not None:
            into["age"] = max(into["age"] or 0.0, row["oldest_age_seconds"])
    return [Bucket(start + i * step, **s) for i, s in enumerate(sums)]


def drain_estimate(hour: Sequence[Bucket], undelivered: int) -> str:
    """How long the backlog takes at the delivery rate of the last five whole minutes."""
    if undelivered == 0:
        return "nothing waiting"
    recent = hour[-6:-1]
    rate = sum(b.delivered for b in recent) / max(len(recent), 1)
    if rate == 0:
        return "not draining: nothing delivered in the last 5 min"
    return f"about {duration(undelivered / rate * 60)} at {rate:.0f}/min"


def counts_chart(points: Sequence[Bucket], destination: str, window: str) -> str:
    top = max([max(p.delivered, p.failed, p.dead) for p in points] + [1])
    lines = "".join(
        f'<polyline class="{name}" fill="none" stroke="{colour}" stroke-width="1.5" '
        f'points="{_points([getattr(p, name) for p in points], top)}"/>'
        for name, colour in COUNTS
    )
    totals = " ".join(
        f'data-{name}="{sum(getattr(p, name) for p in points)}"' for name, _ in COUNTS
    )
    return _svg(
        f"counts-{destination}-{window}",
        f"{destination}: delivered, failed and dead per {_step_words(window)}",
        top,
        lines + _hover(points, window),
        totals,
    )


def age_chart(points: Sequence[Bucket], destination: str, window: str) -> str:
    ages = [p.age or 0.0 for p in points]
    top = max([*ages, 1.0])
    line = (
        f'<polyline class="age" fill="none" stroke="#3f83f8" stroke-width="1.5" '
        f'points="{_points(ages, top)}"/>'
    )
    return _svg(
        f"age-{destination}-{window}",
        f"{destination}: age of the oldest undelivered message",
        top,
        line + _hover(points, window),
        f'data-max-age="{max(ages):.0f}"',
        label=duration,
    )


def _svg(ident: str, title: str, top: float, inner: str, data: str, label: Any = None) -> str:
    label = label or (lambda v: f"{v:.0f}")
    return (
        f'<svg id="{h(ident)}" class="chart-svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{h(title)}" {data}><title>{h(title)}</title>'
        f'<line x1="{LEFT}" y1="{BASE}" x2="{WIDTH}" y2="{BASE}" stroke="#c7ccd6"/>'
        f'<line x1="{LEFT}" y1="4" x2="{WIDTH}" y2="4" stroke="#eceef3"/>'
        f'<text x="{LEFT - 4}" y="12" text-anchor="end" font-size="10">{h(label(top))}</text>'
        f'<text x="{LEFT - 4}" y="{HEIGHT - BOTTOM}" text-anchor="end" font-size="10">0</text>'
        f'<text x="{LEFT}" y="{HEIGHT - 4}" font-size="10">{h(_ago_words(ident))}</text>'
        f'<text x="{WIDTH}" y="{HEIGHT - 4}" text-anchor="end" font-size="10">now</text>'
        f"{inner}</svg>"
    )


def _points(values: Sequence[float], top: float) -> str:
    step = (WIDTH - LEFT) / max(len(values) - 1, 1)
    usable = HEIGHT - BOTTOM - 4
    return " ".join(
        f"{LEFT + i * step:.1f},{HEIGHT - BOTTOM - v / top * usable:.1f}"
        for i, v in enumerate(values)
    )


def _hover(points: Sequence[Bucket], window: str) -> str:
    """A transparent column per bucket whose tooltip gives its exact figures."""
    width = (WIDTH - LEFT) / max(len(points), 1)
    return "".join(
        f'<rect x="{LEFT + i * width:.1f}" y="0" width="{width:.1f}" height="{HEIGHT - BOTTOM}" '
        f'fill="transparent"><title>{h(_describe(p))}</title></rect>'
        for i, p in enumerate(points)
    )


def _describe(p: Bucket) -> str:
    at = p.start.astimezone(UTC).strftime("%H:%M UTC")
    age = f", oldest waiting {duration(p.age)}" if p.age is not None else ""
    return f"{at}: {p.delivered} delivered, {p.failed} failed, {p.dead} dead{age}"


def _step_words(window: str) -> str:
    return "minute" if window == "hour" else "10 minutes"


def _ago_words(ident: str) -> str:
    return "1 h ago" if ident.endswith("-hour") else "24 h ago"


def _floor(moment: datetime, step: timedelta) -> datetime:
    seconds = step.total_seconds()
    return datetime.fromtimestamp(moment.timestamp() // seconds * seconds, UTC)
