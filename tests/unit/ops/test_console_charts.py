"""Buckets, drain estimates and human times of the console's front page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatcher.ops import charts
from dispatcher.ops.html import ago, moment

NOW = datetime(2026, 12, 2, 7, 15, 40, tzinfo=UTC)


def row(minutes_ago: int, delivered: int = 0, age: float | None = None, dest: str = "sf") -> dict:
    minute = NOW.replace(second=0) - timedelta(minutes=minutes_ago)
    return {"destination": dest, "minute": minute, "delivered": delivered, "failed": 0, "dead": 0,
            "oldest_age_seconds": age}  # fmt: skip


def test_charts_buckets_of_an_hour_end_with_the_current_minute() -> None:
    rows = [row(0, 2), row(59, 3, age=40.0), row(60, 7), row(1, 1, dest="other")]
    hour = charts.buckets(rows, "sf", NOW, "hour")
    assert len(hour) == 60
    assert hour[-1].start == NOW.replace(second=0)
    assert (hour[-1].delivered, hour[0].delivered, hour[0].age) == (2, 3, 40.0)
    assert sum(b.delivered for b in hour) == 5  # 60 minutes ago is outside the hour


def test_charts_buckets_of_a_day_sum_ten_minutes_and_keep_the_largest_age() -> None:
    rows = [row(0, 1, age=5.0), row(3, 2, age=90.0), row(15, 4)]
    day = charts.buckets(rows, "sf", NOW, "day")
    assert len(day) == 144
    assert day[-1].start == datetime(2026, 12, 2, 7, 10, tzinfo=UTC)
    assert (day[-1].delivered, day[-1].age) == (3, 90.0)
    assert day[-2].delivered == 4


@pytest.mark.parametrize(
    ("delivered_per_minute", "undelivered", "expected"),
    [(0, 0, "nothing waiting"), (0, 10, "not draining"), (10, 300, "about 30 min at 10/min")],
)
def test_charts_drain_estimate(delivered_per_minute: int, undelivered: int, expected: str) -> None:
    rows = [row(m, delivered_per_minute) for m in range(1, 6)] + [row(0, 1000)]
    hour = charts.buckets(rows, "sf", NOW, "hour")
    assert expected in charts.drain_estimate(hour, undelivered)


@pytest.mark.parametrize(
    ("delta", "words"),
    [(timedelta(seconds=12), "12 s ago"), (timedelta(minutes=3, seconds=5), "3 min ago"),
     (timedelta(hours=2), "2 h ago"), (timedelta(hours=5, minutes=30), "5.5 h ago"),
     (timedelta(days=3), "3 d ago"), (-timedelta(seconds=20), "in 20 s")],
)  # fmt: skip
def test_html_times_are_human_with_the_instant_on_hover(delta: timedelta, words: str) -> None:
    assert ago(NOW - delta, NOW) == words
    tag = moment(NOW - delta, NOW)
    assert f">{words}</time>" in tag
    assert f'datetime="{(NOW - delta).isoformat()}"' in tag
