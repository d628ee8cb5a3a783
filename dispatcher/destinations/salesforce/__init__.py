"""The ``salesforce`` destination: storefront events upserted into a Salesforce org.

``build.build(context)`` is what the registry calls for ``type: salesforce``;
``fetch_describes`` and ``check_org_drift`` serve ``outbox mappings check --against salesforce``
and the drift job. Options are described in ``settings`` and ``docs/salesforce.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from dispatcher.destinations.salesforce.api import SalesforceApi
from dispatcher.destinations.salesforce.auth import SalesforceSessions
from dispatcher.destinations.salesforce.settings import (
    SalesforceOptions,
    SalesforceSettings,
    load_settings,
)
from dispatcher.destinations.salesforce.writer import SalesforceDestination
from dispatcher.mapping import DestinationMapping
from dispatcher.mapping.drift import Describe, DriftFinding, check_drift
from dispatcher.mapping.drift import fetch_describes as _fetch_each

__all__ = [
    "SalesforceDestination",
    "SalesforceSettings",
    "check_org_drift",
    "fetch_describes",
    "load_settings",
]


async def fetch_describes(
    client: httpx.AsyncClient,
    options: SalesforceOptions | Mapping[str, Any],
    objects: Iterable[str],
    *,
    name: str = "salesforce",
    environ: dict[str, str] | None = None,
    sandbox: bool = False,
) -> dict[str, Describe]:
    """``GET /sobjects/{T}/describe`` for each object, with the destination's own options
    (credentials from the environment); an object the org lacks is left out."""
    settings = load_settings(name, options, environ=environ, sandbox=sandbox)
    api = SalesforceApi(client, settings)
    return await _fetch_each(objects, api.describe)


async def check_org_drift(
    client: httpx.AsyncClient,
    options: SalesforceOptions | Mapping[str, Any],
    mapping: DestinationMapping,
    *,
    name: str = "salesforce",
    environ: dict[str, str] | None = None,
    sandbox: bool = False,
    sessions: SalesforceSessions | None = None,
) -> tuple[DriftFinding, ...]:
    """The drift findings of ``mapping`` against the live org's describe results."""
    settings = load_settings(name, options, environ=environ, sandbox=sandbox)
    auth = sessions.auth(settings.credentials) if sessions else None
    api = SalesforceApi(client, settings, auth=auth)
    return await check_drift(mapping, api.describe)
