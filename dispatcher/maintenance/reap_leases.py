"""Stuck work: take back lapsed leases fleet-wide and report ordering keys blocked too long."""

from __future__ import annotations

from dispatcher.config import ReapLeasesConfig
from dispatcher.maintenance.scheduler import JobContext
from outbox.queries import query


async def run(context: JobContext) -> str:
    settings: ReapLeasesConfig = context.settings or ReapLeasesConfig()
    threshold = settings.blocked_key_alert_seconds
    async with context.pool.connection() as conn:
        reaped = await (
            await conn.execute(query("reap_all_leases"), {"worker": context.worker_id})
        ).fetchone()
        blocked = await (
            await conn.execute(query("blocked_longer_than"), {"seconds": threshold})
        ).fetchall()
    for destination, key, head, code, seconds in blocked:
        # A line an alert can match: "ordering key blocked".
        context.log.warning(
            "ordering key blocked",
            destination=destination,
            ordering_key=key,
            head_message_id=head,
            error_code=code,
            blocked_seconds=round(seconds),
        )
    count = reaped[0] if reaped else 0
    return (
        f"reclaimed {count} lapsed lease(s); {len(blocked)} key(s) blocked over {threshold:.0f} s"
    )
