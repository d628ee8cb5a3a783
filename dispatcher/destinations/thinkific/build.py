"""Wiring the ``thinkific`` destination from what the daemon built: pool, client and mappings."""

from __future__ import annotations

from dispatcher.core.errors import ConfigError, ConfigIssue
from dispatcher.destinations.context import DestinationContext
from dispatcher.destinations.thinkific.budget import SiteBudget
from dispatcher.destinations.thinkific.client import ThinkificClient
from dispatcher.destinations.thinkific.destination import ThinkificDestination
from dispatcher.destinations.thinkific.enroll import Enroller
from dispatcher.destinations.thinkific.memory import SiteMemory
from dispatcher.destinations.thinkific.profile import ProfileUpdater
from dispatcher.destinations.thinkific.revoke import Revoker
from dispatcher.destinations.thinkific.settings import settings_from
from dispatcher.mapping import Mappings


def build(context: DestinationContext) -> ThinkificDestination:
    """Wire the destination from the daemon's pool, HTTP client and mappings."""
    config = context.config
    assert config.type == "thinkific"  # how the daemon chose this module
    settings = settings_from(
        context.name,
        config.options,
        timeout_seconds=config.timeout_seconds,
        batch_size=config.batch_size,
    )
    mapping_set = context.mappings
    if mapping_set is None:
        where = f"destinations.{context.name}"
        fix = "keep mappings/thinkific.yaml in the mappings folder"
        raise ConfigError([ConfigIssue(where, "mappings_dir", "no field mappings loaded", fix)])
    budget = SiteBudget(
        context.pool,
        settings.site,
        per_minute=settings.requests_per_minute,
        max_in_flight=settings.max_in_flight,
    )
    client = ThinkificClient(
        context.client,
        settings.base_url,
        settings.headers,
        budget,
        timeout=settings.timeout_seconds,
    )
    memory = SiteMemory(context.pool, settings.site)

    def current() -> Mappings:
        return mapping_set.current

    return ThinkificDestination(
        context.name,
        Enroller(client, memory),
        memory,
        current,
        max_batch=settings.max_batch,
        max_in_flight=settings.max_in_flight,
        revoker=Revoker(client, memory),
        profiles=ProfileUpdater(client, memory),
    )
