"""Which destination a configuration's ``type`` builds: one builder per type, named here.

The daemon calls ``build_destination``; a new destination type adds its builder to
``BUILDERS`` (and its options model to ``dispatcher.config``).
"""

from __future__ import annotations

from collections.abc import Callable

from dispatcher.config import WebhookDestinationConfig, secret_headers
from dispatcher.core.destination import Destination
from dispatcher.destinations.context import DestinationContext
from dispatcher.destinations.null import NullDestination
from dispatcher.destinations.salesforce.build import build as build_salesforce
from dispatcher.destinations.thinkific.build import build as build_thinkific
from dispatcher.destinations.webhook import WebhookDestination

Builder = Callable[[DestinationContext], Destination]


def build_null(context: DestinationContext) -> Destination:
    return NullDestination(context.name, max_batch=context.config.batch_size)


def build_webhook(context: DestinationContext) -> Destination:
    config = context.config
    assert isinstance(config, WebhookDestinationConfig)  # how BUILDERS chose this builder
    assert config.url is not None  # checked when the configuration was loaded
    return WebhookDestination(
        context.client,
        config.url,
        name=context.name,
        max_batch=config.batch_size,
        headers=secret_headers(config),
    )


BUILDERS: dict[str, Builder] = {
    "null": build_null,
    "webhook": build_webhook,
    "salesforce": build_salesforce,
    "thinkific": build_thinkific,
}


def build_destination(context: DestinationContext) -> Destination:
    """The destination for ``context.config.type``, wired from the daemon's resources."""
    return BUILDERS[context.config.type](context)
