"""The catalog look-ups the mapping asks for, answered for a whole batch at once.

The mapping engine calls ``lookup(table, key)`` synchronously while it maps, so the answers
must be at hand before: a first mapping pass only notes which keys are asked for, one query
fetches them all, and the real pass reads the answers. ``pricebook_entry`` reads the catalog
replicated from Salesforce (``commerce.products.salesforce_pricebook_entry_id``);
``pricebook: standard`` is the configured ``pricebook_id``, or the org's standard price book,
asked once per process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from psycopg_pool import AsyncConnectionPool

from dispatcher.core.destination import Message
from dispatcher.destinations.salesforce.api import SalesforceApi
from dispatcher.mapping import DestinationMapping, MappingError
from outbox.queries import query

Lookup = Callable[[str, str], Any]
PLACEHOLDER = "000000000000000AAA"  # any Id-shaped text, for the noting pass


class Catalog:
    def __init__(
        self, api: SalesforceApi, pool: AsyncConnectionPool[Any], pricebook_id: str | None
    ) -> None:
        self._api = api
        self._pool = pool
        self._pricebook_id = pricebook_id

    async def lookup_for(self, mapping: DestinationMapping, batch: Sequence[Message]) -> Lookup:
        wanted = _wanted(mapping, batch)
        answers: dict[str, dict[str, Any]] = {table: {} for table in wanted}
        skus = sorted(wanted.get("pricebook_entry", set()))
        if skus:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(query("salesforce_pricebook_entries"), {"skus": skus})
                answers["pricebook_entry"] = dict(await cursor.fetchall())
        if "standard" in wanted.get("pricebook", set()):
            answers["pricebook"] = {"standard": await self.standard_pricebook()}
        return lambda table, key: answers.get(table, {}).get(key)

    async def standard_pricebook(self) -> str | None:
        """``SELECT Id FROM Pricebook2 WHERE IsStandard = true`` once, when not configured."""
        if self._pricebook_id is None:
            rows = await self._api.query(
                "SELECT Id FROM Pricebook2 WHERE IsStandard = true LIMIT 1"
            )
            self._pricebook_id = str(rows[0]["Id"]) if rows else None
        return self._pricebook_id


def _wanted(mapping: DestinationMapping, batch: Sequence[Message]) -> dict[str, set[str]]:
    """The (table, key) pairs mapping the batch asks for; errors wait for the real pass."""
    wanted: dict[str, set[str]] = {}

    def note(table: str, key: str) -> str:
        wanted.setdefault(table, set()).add(key)
        return PLACEHOLDER

    for message in batch:
        with contextlib.suppress(MappingError):
            mapping.apply(message.event_type, message.payload, note)
    return wanted
