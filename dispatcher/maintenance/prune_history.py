"""Retention: finished history older than the configured age leaves the table in small batches.

Each batch is its own short statement, so no lock is held for long and the claim path, which
reads only live rows through partial indexes, never notices. Age alone decides what goes, whatever
the ids: the batches first walk the primary key below the first message still inside the window
(where history inserted in creation order lies), then take what is old above it (a backfill or
an import inserted old rows late) through the BRIN index on ``created_at``. A run deletes at most
``max_rows_per_run`` messages; the next run carries on. Old stock movements go too, once
Salesforce's count reflects them, and old changes of the inbound inbox, but for each record
its newest change, which the inbound no-echo rule compares the next one with.
"""

from __future__ import annotations

from typing import Any

from dispatcher.config import PruneHistoryConfig
from dispatcher.maintenance.scheduler import JobContext
from outbox.queries import query


async def run(context: JobContext) -> str:
    settings: PruneHistoryConfig = context.settings or PruneHistoryConfig()
    days, batch, cap = settings.retention_days, settings.batch_size, settings.max_rows_per_run
    pruned = 0
    async with context.pool.connection() as conn:
        found = await (await conn.execute(query("prune_frontier"), {"days": days})).fetchone()
        below = found[0] if found else 0
        for statement in ("prune_delivered", "prune_stragglers"):
            pruned += await _batches(conn, statement, days, batch, below, cap - pruned)
        movements = await _batches(conn, "prune_stock_movements", days, batch, 0, cap)
        inbox = await _inbox_batches(conn, days, batch, cap)
        runs = await (await conn.execute(query("prune_runs"), {"days": max(days, 90)})).fetchone()
    capped = " (the per-run cap; the next run carries on)" if pruned >= cap else ""
    return (
        f"pruned {pruned} message(s) older than {days} days{capped}, "
        f"{movements} stock movement(s) Salesforce's count reflects, "
        f"{inbox} inbound change(s) and {runs[0] if runs else 0} run row(s)"
    )


async def _batches(conn: Any, statement: str, days: int, batch: int, below: int, left: int) -> int:
    """Delete in batches until one comes back short or ``left`` rows are gone."""
    pruned = 0
    while pruned < left:
        size = min(batch, left - pruned)
        params = {"days": days, "batch": size, "below": below}
        row = await (await conn.execute(query(statement), params)).fetchone()
        deleted = int(row[0]) if row else 0
        pruned += deleted
        if deleted < size:
            break
    return pruned


async def _inbox_batches(conn: Any, days: int, batch: int, left: int) -> int:
    """Walk the inbox's old changes batch by batch until past the last one or ``left`` are gone.
    A batch that deletes nothing (records' newest rows, which stay) does not end the walk."""
    pruned, after_at, after_id = 0, None, 0
    while pruned < left:
        params = {"days": days, "batch": min(batch, left - pruned), "after_at": after_at,
                  "after_id": after_id}  # fmt: skip
        row = await (await conn.execute(query("prune_inbound_changes"), params)).fetchone()
        deleted, after_at, after_id = row if row else (0, None, 0)
        pruned += int(deleted)
        if after_at is None:
            break
    return pruned
