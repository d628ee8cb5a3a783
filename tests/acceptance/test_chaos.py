"""The chaos suite, bounded for CI: kills, faults, a Salesforce outage and a PostgreSQL restart.

``bench/soak.py`` runs the same plan for as long as you like. Every random choice of the run
comes from its seed: ``OUTBOX_CHAOS_SEED=<n>`` replays a failed run's choices, and every failure
message names the seed it ran with.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sandboxes.demo.chaos import ChaosPlan, run_chaos

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("OUTBOX_CHAOS_SEED", "11"))


@pytest.mark.timeout(400)
def test_chaos_nothing_lost_nothing_doubled_everything_in_order(pg_root: Path) -> None:
    plan = ChaosPlan(
        seconds=45, outage_from=5, outage_seconds=30, postgres_restart_at=38, seed=SEED
    )
    report = run_chaos(pg_root, plan)
    why = report.describe()
    assert report.problems == [], why
    assert report.checkout_failures == [], why
    assert report.kills >= 8, why
    assert report.orders > 100, why
    assert report.statuses.get("delivered", 0) > report.orders, why
