"""One page of changes read from Salesforce, applied in one transaction with its watermark.

The page is recorded in the inbox first; only the rows the insert returns (changes not seen
before) are decided and applied, so a page read again, or a run that crashed before its commit
and is read again, applies nothing twice. Customers and organisations are locked for the page,
so a checkout that changes a customer meanwhile waits, and is decided against, not overwritten.
The decisions become a few statements over the whole page (``inbound_write``); a change the
storefront cannot hold is recorded as a conflict and the rest of the page applies.
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
    unheld,
)
from dispatcher.maintenance.inbound_write import Step, Write, run_step
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


@dataclass
class Plan:
    """The fields each record had when last read, what the page's changes decided, the
    storefront values each was decided against, and the statements that carry the decisions
    out, in order."""

    previous: Mapping[str, Any]
    decisions: dict[int, Decision] = field(default_factory=dict)
    held: dict[int, Mapping[str, Any]] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)


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
    previous = await _fetch(
        conn, "inbound_previous", object_name=section.object_name, record_ids=ids
    )
    rows = [c.row() for c in changes]
    params = {"object_name": section.object_name, "rows": Jsonb(rows)}
    recorded = await (await conn.execute(query("inbound_record"), params)).fetchall()
    by_record = {c.record_id: c for c in changes}
    fresh = [(row_id, by_record[record_id]) for row_id, record_id in recorded]
    result.new = len(fresh)
    plan = Plan(dict(previous))
    live = [(i, c) for i, c in fresh if not c.is_deleted]
    gone = [(i, c) for i, c in fresh if c.is_deleted]
    if live and section.into == "customers":
        await _customers(conn, ctx, live, plan)
    elif live:
        await _organisations(conn, ctx, live, plan)
    if gone:
        _identities(ctx, gone, survivors, result, plan)
    for step in plan.steps:
        for row_id, refusal in (await run_step(conn, step)).items():
            plan.decisions[row_id] = unheld(
                section, plan.decisions[row_id], plan.held.get(row_id, {}), refusal.columns,
                refusal.whole,
            )  # fmt: skip
    await _record_decisions(conn, ctx, plan.decisions)
    for d in plan.decisions.values():
        result.statuses[str(d.status)] = result.statuses.get(str(d.status), 0) + 1
    return result


async def _record_decisions(conn: Any, ctx: PageContext, decisions: Mapping[int, Decision]) -> None:
    rows = [
        {
            "id": row_id,
            "status": str(d.status),
            "applied": sorted(d.set),
            "conflicts": d.conflicts,
            "detail": d.detail,
        }
        for row_id, d in decisions.items()
    ]
    await conn.execute(query("inbound_decide"), {"now": ctx.now, "rows": Jsonb(rows)})


async def _customers(
    conn: Any,
    ctx: PageContext,
    live: list[tuple[int, Change]],
    plan: Plan,
) -> None:
    """A Contact speaks for the customer its key names and for every customer key the outbox
    writes to it (a guest attached by e-mail, a customer whose Contact was merged into it)."""
    linked: dict[str, set[str]] = {}
    found = await _fetch(
        conn, "inbound_linked_keys", destination=ctx.destination,
        object_name=ctx.section.object_name, record_ids=[c.record_id for _, c in live],
    )  # fmt: skip
    for record_id, key in found:
        linked.setdefault(record_id, set()).add(key)
    keys = {
        i: sorted({*linked.get(c.record_id, ()), *([c.storefront_key] if c.storefront_key else [])})
        for i, c in live
    }
    wanted = sorted({n for ks in keys.values() for k in ks if (n := _customer_id(k)) is not None})
    customers = await _rows_by_key(
        conn, "inbound_customers", destination=ctx.destination, ids=wanted
    )
    updates: list[Write] = []
    for row_id, change in live:
        rows = [customers[k] for k in keys[row_id] if k in customers]
        if not rows:
            plan.decisions[row_id] = Decision(
                InboundStatus.SKIPPED, detail="no storefront customer"
            )
            continue
        decision = _merge_decisions(
            [_decided(ctx, plan, change, row, unsynced=bool(row["unsynced"])) for row in rows]
        )
        plan.decisions[row_id], plan.held[row_id] = decision, rows[0]
        if decision.set:
            sets = tuple({"id": row["id"], "set": _json(decision.set)} for row in rows)
            updates.append(Write(row_id, sets))
    plan.steps.append(Step("inbound_update_customers", updates, {"now": ctx.now}))


async def _organisations(
    conn: Any,
    ctx: PageContext,
    live: list[tuple[int, Change]],
    plan: Plan,
) -> None:
    prefix = ctx.section.key_prefix
    keys = {i: k for i, c in live if (k := _organisation_key(prefix, c.storefront_key))}
    held = await _rows_by_key(conn, "inbound_organisations", keys=sorted(set(keys.values())))
    inserts: list[Write] = []
    updates: list[Write] = []
    for row_id, change in live:
        key = keys.get(row_id)
        if key is None:
            detail = f"not a record the storefront keeps ({ctx.section.key_field} not {prefix}...)"
            plan.decisions[row_id] = Decision(InboundStatus.SKIPPED, detail=detail)
            continue
        current = held.get(key)
        decision = _decided(ctx, plan, change, current, unsynced=False)
        plan.decisions[row_id], plan.held[row_id] = decision, current or {}
        write = Write(row_id, ({"key": key, "account_id": change.record_id,
                                "set": _json(decision.set)},))  # fmt: skip
        if current is None:
            inserts.append(write)
            held[key] = {**decision.set, "key": key}
        elif decision.set:
            updates.append(write)
    plan.steps.append(Step("inbound_insert_organisations", inserts))
    plan.steps.append(Step("inbound_update_organisations", updates, {"now": ctx.now}))


def _identities(
    ctx: PageContext,
    gone: list[tuple[int, Change]],
    survivors: Mapping[str, str],
    result: PageResult,
    plan: Plan,
) -> None:
    """A record merged away: the storefront keys written to it follow the survivor, so later
    writes update the survivor and nothing is sent to the deleted record. A record deleted
    outright is forgotten: the next write of its key creates it again."""
    base = {"destination": ctx.destination, "object_name": ctx.section.object_name}
    moves: list[Write] = []
    forgotten: list[Write] = []
    for row_id, change in gone:
        master = change.master_record_id
        key = survivors.get(master) if master else None
        if master and key:
            move = {"record_id": change.record_id, "master_id": master, "master_key": key}
            moves.append(Write(row_id, (move,)))
            detail = f"merged into {master}: writes go to it, as {ctx.section.key_field} {key}"
            result.merged += 1
        else:
            forgotten.append(Write(row_id, ({"record_id": change.record_id},)))
            detail = (
                f"merged into {master}, which has no {ctx.section.key_field}: forgotten"
                if master
                else "deleted in Salesforce: forgotten; the next write creates it again"
            )
            result.deleted += 1
        plan.decisions[row_id] = Decision(InboundStatus.APPLIED, detail=detail)
    plan.steps.append(Step("inbound_follow_merge", moves, {**base, "now": ctx.now}))
    plan.steps.append(Step("inbound_forget_deleted", forgotten, base))


async def _fetch(conn: Any, name: str, **params: Any) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = await (await conn.execute(query(name), params)).fetchall()
    return rows


async def _rows_by_key(conn: Any, name: str, **params: Any) -> dict[Any, dict[str, Any]]:
    """The rows a lookup returns, as dicts by their first column (the key)."""
    cursor = await conn.execute(query(name), params)
    columns = [d.name for d in cursor.description]
    return {row[0]: dict(zip(columns, row, strict=True)) for row in await cursor.fetchall()}


def _organisation_key(prefix: str, storefront_key: str | None) -> str | None:
    """The organisation a business Account's key names; none for another Account, or for a key
    naming no organisation (``org:`` alone), which the organisations' key CHECK refuses."""
    if not storefront_key or not storefront_key.startswith(prefix):
        return None
    return organisation_key(storefront_key.removeprefix(prefix)) or None


def _decided(
    ctx: PageContext, plan: Plan, change: Change, row: Mapping[str, Any] | None, *, unsynced: bool
) -> Decision:
    previous = plan.previous.get(change.record_id)
    return decide(
        ctx.section, change, row, previous=previous, unsynced=unsynced,
        integration_user=ctx.integration_user,
    )  # fmt: skip


def _merge_decisions(decisions: list[Decision]) -> Decision:
    """One Contact, several customers (rare: a guest attached, a merge): the strongest outcome."""
    order = (InboundStatus.CONFLICT, InboundStatus.APPLIED, InboundStatus.SKIPPED)
    return min(decisions, key=lambda d: order.index(d.status))


def _customer_id(key: str) -> int | None:
    digits = key.removeprefix(CUSTOMER_PREFIX)
    return int(digits) if key.startswith(CUSTOMER_PREFIX) and digits.isdigit() else None


def _json(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: json_value(v) for k, v in values.items()}
