"""Retention: delivered history older than the configured age leaves the table in small batches.

Each batch is its own short statement, so no lock is held for long and the claim path, which
reads only live rows through partial indexes, never notices. The batches walk the primary key
below the first message still inside the window (ids follow creation order).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from outbox.queries import query

if TYPE_CHECKING:
    from dispatcher.scheduler import JobContext

MAX_BATCHES_PER_RUN = 200


async def run(context: JobContext) -> str:
    days = int(context.settings.get("retention_days", 30))
    batch = int(context.settings.get("batch_size", 5000))
    pruned = 0
    async with context.pool.connection() as conn:
        found = await (await conn.execute(query("prune_frontier"), {"days": days})).fetchone()
        below = found[0] if found else 0
        for _ in range(MAX_BATCHES_PER_RUN):
            params = {"days": days, "batch": batch, "below": below}
            row = await (await conn.execute(query("prune_delivered"), params)).fetchone()
            deleted = row[0] if row else 0
            pruned += deleted
            if deleted < batch:
                break
        runs = await (await conn.execute(query("prune_runs"), {"days": max(days, 90)})).fetchone()
    return (
        f"pruned {pruned} message(s) older than {days} days and {runs[0] if runs else 0} run row(s)"
    )
