"""The chaos suite, bounded for CI: kills, faults, a Salesforce outage and a PostgreSQL restart.

``bench/soak.py`` runs the same plan for as long as you like.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatcher.demo.chaos import ChaosPlan, run_chaos

pytestmark = pytest.mark.slow


@pytest.mark.timeout(400)
def test_chaos_nothing_lost_nothing_doubled_everything_in_order(tmp_path: Path) -> None:
    plan = ChaosPlan(seconds=45, outage_from=5, outage_seconds=30, postgres_restart_at=38)
    report = run_chaos(tmp_path, plan)
    assert report.kills >= 8
    assert report.orders > 100
    assert report.checkout_failures == []
    assert report.problems == []
    assert report.statuses.get("delivered", 0) > report.orders
