"""Wiring the ``salesforce`` destination from what the daemon built: pool, client, mappings."""

from __future__ import annotations

from dispatcher.core.errors import ConfigError, ConfigIssue
from dispatcher.destinations.context import DestinationContext
from dispatcher.destinations.salesforce.api import SalesforceApi
from dispatcher.destinations.salesforce.settings import load_settings
from dispatcher.destinations.salesforce.writer import SalesforceDestination


def build(context: DestinationContext) -> SalesforceDestination:
    config = context.config
    assert config.type == "salesforce"  # how the daemon chose this module
    settings = load_settings(
        context.name, config.options, timeout_seconds=config.timeout_seconds, sandbox=config.sandbox
    )
    if context.mappings is None or not context.mappings.current.destinations.keys() & {
        context.name,
        "salesforce",
    }:
        raise ConfigError([ConfigIssue(
            "mappings", f"destinations.{context.name}", "no Salesforce mapping is loaded",
            "add mappings/salesforce.yaml (destination: salesforce) to the mappings folder",
        )])  # fmt: skip
    auth = context.sessions.auth(settings.credentials) if context.sessions else None
    api = SalesforceApi(context.client, settings, auth=auth)
    return SalesforceDestination(
        context.name, api, context.pool, context.mappings,
        max_batch=min(settings.max_batch, config.batch_size),
    )  # fmt: skip
