"""Retention: delivered history older than the configured age leaves the table in small batches.

Each batch is its own short statement, so no lock is held for long and the claim path, which
reads only live rows through partial indexes, never notices.
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
        for _ in range(MAX_BATCHES_PER_RUN):
            row = await (
                await conn.execute(query("prune_delivered"), {"days": days, "batch": batch})
            ).fetchone()
            deleted = row[0] if row else 0
            pruned += deleted
            if deleted < batch:
                break
        runs = await (await conn.execute(query("prune_runs"), {"days": max(days, 90)})).fetchone()
    return (
        f"pruned {pruned} message(s) older than {days} days and {runs[0] if runs else 0} run row(s)"
    )
