"""The shared API budget: one window, many processes, never more than the limit.

A one-year window keeps the tests clear of a window boundary.
"""

from __future__ import annotations

import threading
from typing import Any

import psycopg


def test_take_budget_grants_up_to_the_limit_then_says_when(conn: psycopg.Connection[Any]) -> None:
    take = "SELECT granted, retry_in FROM outbox.take_budget('thinkific', %s, 120, 31536000)"
    first = conn.execute(take, (100,)).fetchone()
    second = conn.execute(take, (50,)).fetchone()
    assert first == (100, 0)
    assert second is not None
    assert second[0] == 20
    assert 0 < second[1] <= 31536000


def test_take_budget_is_shared_by_concurrent_callers(db_url: str) -> None:
    granted: list[int] = []
    lock = threading.Lock()

    def caller() -> None:
        with psycopg.connect(db_url, autocommit=True) as conn:
            for _ in range(20):
                row = conn.execute(
                    "SELECT granted FROM outbox.take_budget('thinkific', 1, 120, 31536000)"
                ).fetchone()
                assert row is not None
                with lock:
                    granted.append(row[0])

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 120  # 160 asked within one window, exactly the limit granted
