"""Write the storefront's stock movements into Salesforce's count, once each.

Salesforce counts what arrived in the warehouse; only the storefront knows what it sold since,
in ``commerce.stock_movements``. Before each catalog pull, for every product with movements the
last pull's count did not reflect, the Product2 row is read (its count and ``mark_field``, the
last movement already written into that count), and one sObject Collections update
(``PATCH /composite/sobjects``, up to 200 records, ``allOrNone: false``, API-NOTES §1.3) sets
the count less the units of the movements after the mark, and the mark to the last of them.

Count and mark change in one record update, so the write is idempotent: a push repeated after a
crash reads the mark it already wrote and has nothing left to subtract. The pull that follows
reads the count with its mark, and only movements after the mark still count against it. The
read and the write are two calls: a warehouse edit of the same row between them, milliseconds
apart, would be overwritten (the count it set, less our units, is what gets written only if it
landed before the read).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg_pool import AsyncConnectionPool

from dispatcher.destinations.salesforce.api import SalesforceApi, soql_literal
from outbox.queries import query

PER_CALL = 200  # sObject Collections take at most 200 records


@dataclass(frozen=True, slots=True)
class Pushed:
    products: int
    units: int
    errors: list[str]


async def push_stock(
    api: SalesforceApi, pool: AsyncConnectionPool[Any], stock_field: str, mark_field: str
) -> Pushed:
    products = units = 0
    errors: list[str] = []
    done: set[str] = set()
    while True:
        async with pool.connection() as conn:
            rows = await (
                await conn.execute(query("stock_to_push"), {"limit": PER_CALL + len(done)})
            ).fetchall()
        wanted = [str(row[1]) for row in rows if str(row[1]) not in done][:PER_CALL]
        if not wanted:
            return Pushed(products, units, errors)
        done.update(wanted)
        counted = await _push_some(api, pool, wanted, stock_field, mark_field, errors)
        products, units = products + counted[0], units + counted[1]


async def _push_some(
    api: SalesforceApi,
    pool: AsyncConnectionPool[Any],
    product2_ids: list[str],
    stock_field: str,
    mark_field: str,
    errors: list[str],
) -> tuple[int, int]:
    rows = await api.query(
        f"SELECT Id, {stock_field}, {mark_field} FROM Product2 WHERE Id IN ("
        + ", ".join(soql_literal(i) for i in product2_ids)
        + ")"
    )
    read = {str(r["Id"]): (int(r.get(stock_field) or 0), int(r.get(mark_field) or 0)) for r in rows}
    async with pool.connection() as conn:
        plan = await (
            await conn.execute(
                query("stock_push_plan"),
                {"product2_ids": list(read), "marks": [mark for _, mark in read.values()]},
            )
        ).fetchall()
    records = [
        {
            "attributes": {"type": "Product2"},
            "Id": product2_id,
            stock_field: read[product2_id][0] - moved,
            mark_field: through,
        }
        for product2_id, moved, through in plan
    ]
    if not records:
        return 0, 0
    results = await api.call(
        "PATCH", "/composite/sobjects", json={"allOrNone": False, "records": records}
    )
    pushed = 0
    moved_units = 0
    for (product2_id, moved, _), result in zip(plan, results or [], strict=False):
        if result.get("success"):
            pushed, moved_units = pushed + 1, moved_units + moved
            continue
        found = "; ".join(
            f"{e.get('statusCode')}: {e.get('message')}" for e in result.get("errors") or []
        )
        errors.append(f"Product2 {product2_id}: stock not written: {found}")
    return pushed, moved_units
