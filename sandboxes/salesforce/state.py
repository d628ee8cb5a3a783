"""Everything one sandbox org holds, built fresh by each ``create_app``, reachable from the app."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandboxes.salesforce.faults import Faults
from sandboxes.salesforce.schema import Schema, load_schema
from sandboxes.salesforce.settings import SandboxSettings
from sandboxes.salesforce.store import Store
from sandboxes.salesforce.usage import ApiUsage


@dataclass
class Cursor:
    """A query's remaining rows, served page by page through ``nextRecordsUrl``."""

    records: list[dict[str, Any]]
    batch_size: int


@dataclass
class SandboxState:
    settings: SandboxSettings
    base_schema: Schema
    store: Store
    faults: Faults
    usage: ApiUsage
    tokens: dict[str, datetime] = field(default_factory=dict)
    cursors: dict[str, Cursor] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)

    @classmethod
    def build(cls, settings: SandboxSettings) -> SandboxState:
        schema = load_schema(settings.schema_path)
        store = Store()
        for spec in schema.objects:
            store.index_fields(spec.name, tuple(f.storage for f in spec.external_ids()))
        return cls(
            settings=settings,
            base_schema=schema,
            store=store,
            faults=Faults(random.Random(settings.random_seed)),
            usage=ApiUsage(settings.daily_api_limit, settings.clock),
        )

    @property
    def schema(self) -> Schema:
        """The org as it is now: the declared schema with any injected drift applied."""
        return self.faults.reshape(self.base_schema)

    def revoke_tokens(self) -> None:
        """Every issued token stops working at once, as when a session times out mid-run."""
        self.tokens.clear()

    def stats(self) -> dict[str, Any]:
        return {
            "api_usage": {"used": self.usage.used, "max": self.usage.allocation},
            "calls": dict(sorted(self.calls.items())),
            "records": {name: len(rows) for name, rows in sorted(self.store.live.items()) if rows},
            "deleted": {
                name: len(rows) for name, rows in sorted(self.store.deleted.items()) if rows
            },
            "writes": {
                name: written
                for name, counts in sorted(self.store.writes.items())
                if (
                    written := {
                        e: vars(c) for e, c in sorted(counts.items()) if c.created or c.updated
                    }
                )
            },
        }
