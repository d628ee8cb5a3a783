"""``DestinationContext``: what a destination is built from.

The daemon, the composition root, fills one in per configured destination (its pool, its
breaker-gated HTTP client, the mappings in use, the shared Salesforce tokens); each
destination's ``build`` reads it. It lives here, below the daemon, so destinations and tests
can name it without importing the daemon.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from psycopg_pool import AsyncConnectionPool

from dispatcher.config import DestinationConfig
from dispatcher.destinations.salesforce.auth import SalesforceSessions
from dispatcher.mapping.reload import MappingSet


@dataclass(frozen=True, slots=True)
class DestinationContext:
    """What a native destination may use; built here, the composition root, and nowhere else."""

    name: str
    config: DestinationConfig
    client: httpx.AsyncClient
    pool: AsyncConnectionPool[Any]
    mappings: MappingSet | None
    sessions: SalesforceSessions | None = None  # one token per destination, shared with jobs
