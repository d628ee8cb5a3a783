"""A page's writes into the storefront, and what becomes of a value the storefront cannot hold.

Each statement writes the whole page's rows at once, in a savepoint. When the storefront refuses
a value (too long or too large for its column, a CHECK it fails: SQLSTATE classes 22 and 23),
the savepoint rolls back and the statement runs again on each half of the rows, each in a
savepoint of its own, down to the one change refused; that change is tried column by column, so
the value that cannot be held is found and named and the change's other columns still written.
Nothing else on the page rolls back, and the page commits with its watermark: one bad record
never holds the pull up, and being recorded in the inbox, it is never read as new again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from psycopg.errors import CheckViolation, DataError, IntegrityError
from psycopg.types.json import Jsonb

from outbox.queries import query


@dataclass(frozen=True, slots=True)
class Write:
    """What one inbox change writes with one statement: its rows, each with the ``set`` of
    columns to write (rows of identity moves have none)."""

    row_id: int
    rows: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Step:
    """One statement over the rows of every change it writes (``%(rows)s``)."""

    statement: str
    writes: Sequence[Write]
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the storefront refused (part of) a change, in the database's words: per column, and
    for the change as a whole when no single column explains it (a rule over several)."""

    columns: Mapping[str, str]
    whole: str | None = None


async def run_step(conn: Any, step: Step) -> dict[int, Refusal]:
    """Write ``step``; the changes the storefront refused, by inbox row id. The caller holds the
    transaction."""
    return await _isolate(conn, step, step.writes) if step.writes else {}


async def _isolate(conn: Any, step: Step, writes: Sequence[Write]) -> dict[int, Refusal]:
    """Write ``writes`` in one savepoint; when refused, each half in its own, down to the one
    change refused: a few statements find one bad change among a page of 2,000."""
    why = await _attempt(conn, step, [row for w in writes for row in w.rows])
    if why is None:
        return {}
    if len(writes) == 1:
        return {writes[0].row_id: await _narrow(conn, step, writes[0], why)}
    half = len(writes) // 2
    return {
        **await _isolate(conn, step, writes[:half]),
        **await _isolate(conn, step, writes[half:]),
    }


async def _narrow(conn: Any, step: Step, write: Write, why: str) -> Refusal:
    """Probe each column of a refused change alone (rolled back), then write the ones the
    storefront holds together."""
    columns = sorted({c for row in write.rows for c in row.get("set", {})})
    refused: dict[str, str] = {}
    for column in columns:
        alone = await _attempt(conn, step, _only(write.rows, {column}), probe=True)
        if alone is not None:
            refused[column] = alone
    held = {c for c in columns if c not in refused}
    if not refused and not held:
        return Refusal({}, why)
    together = await _attempt(conn, step, _only(write.rows, held)) if held else None
    return Refusal(refused, together)


async def _attempt(
    conn: Any, step: Step, rows: Iterable[dict[str, Any]], *, probe: bool = False
) -> str | None:
    """Run the statement over ``rows`` in a savepoint: None when the storefront took them,
    else what it refused (the savepoint rolled back). A probe is always rolled back."""
    try:
        async with conn.transaction(force_rollback=probe):
            await conn.execute(query(step.statement), {**step.params, "rows": Jsonb(list(rows))})
    except (DataError, IntegrityError) as error:
        return await _limit(conn, error)
    return None


def _only(rows: Iterable[dict[str, Any]], columns: set[str]) -> list[dict[str, Any]]:
    return [
        {**row, "set": {c: v for c, v in row.get("set", {}).items() if c in columns}}
        for row in rows
    ]


async def _limit(conn: Any, error: DataError | IntegrityError) -> str:
    """The limit a value went past: the CHECK's own text, or the type's words (``value too long
    for type character varying(20)``, ``numeric field overflow (A field with precision 12 ...)``).
    The failing row an integrity error details is left out: it is the whole row, not the limit."""
    diag = error.diag
    words = diag.message_primary or str(error)
    if isinstance(error, CheckViolation) and diag.constraint_name:
        where = {"schema": diag.schema_name, "table": diag.table_name, "name": diag.constraint_name}
        found = await (await conn.execute(query("inbound_check"), where)).fetchone()
        rule = f": {found[0]}" if found else ""
        return f"check {diag.constraint_name}{rule}"
    if isinstance(error, DataError) and diag.message_detail:
        return f"{words} ({diag.message_detail})"
    return words
