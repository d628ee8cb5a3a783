"""One page of changes read from Salesforce, applied in one transaction with its watermark.

The page is recorded in the inbox first; only the rows the insert returns (changes not seen
before) are decided and applied, so a page read again, or a run that crashed before its commit
and is read again, applies nothing twice. Customers and organisations are locked for the page,
so a checkout that changes a customer meanwhile waits, and is decided against, not overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from dispatcher.maintenance.inbound_decision import (
    Change,
    Decision,
    InboundStatus,
    decide,
    json_value,
)
from dispatcher.mapping.compiled import InboundMapping
from dispatcher.mapping.transforms import organisation_key
from outbox.queries import query

CUSTOMER_PREFIX = "c-"


@dataclass
class PageResult:
    read: int = 0
    new: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    merged: int = 0
    deleted: int = 0

    def add(self, other: PageResult) -> None:
        self.read += other.read
        self.new += other.new
        self.merged += other.merged
        self.deleted += other.deleted
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count


@dataclass(frozen=True, slots=True)
class PageContext:
    section: InboundMapping
    destination: str
    integration_user: str | None
    now: datetime | None = None


async def apply_page(
    conn: Any, ctx: PageContext, changes: Sequence[Change], survivors: Mapping[str, str]
) -> PageResult:
    """Record, decide and apply ``changes``; the caller holds the transaction and moves the
    watermark in it. ``survivors`` maps a merge master's Id to its external-ID key, where the
    page or the org told it."""
    section = ctx.section
    result = PageResult(read=len(changes))
    if not changes:
        return result
    ids = [c.record_id for c in changes]
    previous = {
        r[0]: r[1]
        for r in await (
            await conn.execute(
                query("inbound_previous"), {"object_name": section.object_name, "record_ids": ids}
            )
        ).fetchall()
    }
    rows = [c.row() for c in changes]
    params = {"object_name": section.object_name, "rows": Jsonb(rows)}
    recorded = await (await conn.execute(query("inbound_record"), params)).fetchall()
    by_record = {c.record_id: c for c in changes}
    fresh = [(row_id, by_record[record_id]) for row_id, record_id in recorded]
    result.new = len(fresh)
    decisions: dict[int, Decision] = {}
    live = [(i, c) for i, c in fresh if not c.is_deleted]
    gone = [(i, c) for i, c in fresh if c.is_deleted]
    if live and section.into == "customers":
        decisions.update(await _customers(conn, ctx, live, previous))
    elif live:
        decisions.update(await _organisations(conn, ctx, live, previous))
    if gone:
        decisions.update(await _identities(conn, ctx, gone, survivors, result))
    await conn.execute(
        query("inbound_decide"),
        {
            "now": ctx.now,
            "rows": Jsonb(
                [
                    {
                        "id": row_id,
                        "status": str(d.status),
                        "applied": sorted(d.set),
                        "conflicts": d.conflicts,
                        "detail": d.detail,
                    }
                    for row_id, d in decisions.items()
                ]
            ),
        },
    )
    for d in decisions.values():
        result.statuses[str(d.status)] = result.statuses.get(str(d.status), 0) + 1
    return result


async def _customers(
    conn: Any,
    ctx: PageContext,
    live: list[tuple[int, Change]],
    previous: Mapping[str, Any],
) -> dict[int, Decision]:
    """A Contact speaks for the customer its key names and for every customer key the outbox
    writes to it (a guest attached by e-mail, a customer whose Contact was merged into it)."""
    linked: dict[str, set[str]] = {}
    found = await conn.execute(
        query("inbound_linked_keys"),
        {
            "destination": ctx.destination,
            "object_name": ctx.section.object_name,
            "record_ids": [c.record_id for _, c in live],
        },
    )
    for record_id, key in await found.fetchall():
        linked.setdefault(record_id, set()).add(key)
    keys = {
        i: sorted({*linked.get(c.record_id, ()), *([c.storefront_key] if c.storefront_key else [])})
        for i, c in live
    }
    wanted = sorted({n for ks in keys.values() for k in ks if (n := _customer_id(k)) is not None})
    cursor = await conn.execute(
        query("inbound_customers"), {"destination": ctx.destination, "ids": wanted}
    )
    columns = [d.name for d in cursor.description]
    customers = {row[0]: dict(zip(columns, row, strict=True)) for row in await cursor.fetchall()}
    decisions: dict[int, Decision] = {}
    updates: list[dict[str, Any]] = []
    for row_id, change in live:
        rows = [customers[k] for k in keys[row_id] if k in customers]
        if not rows:
            decisions[row_id] = Decision(InboundStatus.SKIPPED, detail="no storefront customer")
            continue
        decision = _merge_decisions(
            [
                decide(
                    ctx.section,
                    change,
                    row,
                    previous=previous.get(change.record_id),
                    unsynced=bool(row["unsynced"]),
                    integration_user=ctx.integration_user,
                )
                for row in rows
            ]
        )
        decisions[row_id] = decision
        for row in rows:
            if decision.set:
                updates.append({"id": row["id"], "set": _json(decision.set)})
    if updates:
        await conn.execute(
            query("inbound_update_customers"), {"now": ctx.now, "rows": Jsonb(updates)}
        )
    return decisions


async def _organisations(
    conn: Any,
    ctx: PageContext,
    live: list[tuple[int, Change]],
    previous: Mapping[str, Any],
) -> dict[int, Decision]:
    prefix = ctx.section.key_prefix
    keys = {
        i: organisation_key(c.storefront_key.removeprefix(prefix))
        for i, c in live
        if c.storefront_key and c.storefront_key.startswith(prefix)
    }
    cursor = await conn.execute(
        query("inbound_organisations"), {"keys": sorted(set(keys.values()))}
    )
    columns = [d.name for d in cursor.description]
    held = {row[0]: dict(zip(columns, row, strict=True)) for row in await cursor.fetchall()}
    decisions: dict[int, Decision] = {}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for row_id, change in live:
        key = keys.get(row_id)
        if key is None:
            detail = f"not a record the storefront keeps ({ctx.section.key_field} not {prefix}...)"
            decisions[row_id] = Decision(InboundStatus.SKIPPED, detail=detail)
            continue
        current = held.get(key)
        decision = decide(
            ctx.section,
            change,
            current,
            previous=previous.get(change.record_id),
            unsynced=False,
            integration_user=ctx.integration_user,
        )
        decisions[row_id] = decision
        row = {"key": key, "account_id": change.record_id, "set": _json(decision.set)}
        if current is None:
            inserts.append(row)
            held[key] = {**decision.set, "key": key}
        elif decision.set:
            updates.append(row)
    if inserts:
        await conn.execute(query("inbound_insert_organisations"), {"rows": Jsonb(inserts)})
    if updates:
        await conn.execute(
            query("inbound_update_organisations"), {"now": ctx.now, "rows": Jsonb(updates)}
        )
    return decisions


async def _identities(
    conn: Any,
    ctx: PageContext,
    gone: list[tuple[int, Change]],
    survivors: Mapping[str, str],
    result: PageResult,
) -> dict[int, Decision]:
    """A record merged away: the storefront keys written to it follow the survivor, so later
    writes update the survivor and nothing is sent to the deleted record. A record deleted
    outright is forgotten: the next write of its key creates it again."""
    base = {"destination": ctx.destination, "object_name": ctx.section.object_name}
    decisions: dict[int, Decision] = {}
    moves, forgotten = [], []
    for row_id, change in gone:
        master = change.master_record_id
        key = survivors.get(master) if master else None
        if master and key:
            moves.append({"record_id": change.record_id, "master_id": master, "master_key": key})
            detail = f"merged into {master}: writes go to it, as {ctx.section.key_field} {key}"
            result.merged += 1
        else:
            forgotten.append(change.record_id)
            detail = (
                f"merged into {master}, which has no {ctx.section.key_field}: forgotten"
                if master
                else "deleted in Salesforce: forgotten; the next write creates it again"
            )
            result.deleted += 1
        decisions[row_id] = Decision(InboundStatus.APPLIED, detail=detail)
    if moves:
        await conn.execute(
            query("inbound_follow_merge"), {**base, "now": ctx.now, "rows": Jsonb(moves)}
        )
    if forgotten:
        await conn.execute(query("inbound_forget_deleted"), {**base, "record_ids": forgotten})
    return decisions


def _merge_decisions(decisions: list[Decision]) -> Decision:
    """One Contact, several customers (rare: a guest attached, a merge): the strongest outcome."""
    order = (InboundStatus.CONFLICT, InboundStatus.APPLIED, InboundStatus.SKIPPED)
    return min(decisions, key=lambda d: order.index(d.status))


def _customer_id(key: str) -> int | None:
    digits = key.removeprefix(CUSTOMER_PREFIX)
    return int(digits) if key.startswith(CUSTOMER_PREFIX) and digits.isdigit() else None


def _json(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: json_value(v) for k, v in values.items()}
