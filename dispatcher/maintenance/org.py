"""The Salesforce org a job talks to, taken from the configured ``salesforce`` destination."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dispatcher.config import SalesforceDestinationConfig
from dispatcher.destinations.salesforce.api import SalesforceApi
from dispatcher.destinations.salesforce.settings import SalesforceOptions, load_settings
from dispatcher.maintenance.scheduler import JobContext


@dataclass(frozen=True, slots=True)
class SalesforceOrg:
    """The destination's options (credentials come from its environment variables), whether
    it is the loopback sandbox, and its name (the key of its token in the shared sessions)."""

    options: SalesforceOptions | Mapping[str, Any]
    sandbox: bool = False
    name: str = "salesforce"

    @classmethod
    def of(cls, name: str, config: SalesforceDestinationConfig) -> SalesforceOrg:
        return cls(config.options, config.sandbox, name)

    def api(self, context: JobContext, purpose: str) -> SalesforceApi:
        """A client for this org on the job's HTTP client, sharing the daemon's token."""
        if context.client is None:
            raise RuntimeError(f"{purpose} needs an HTTP client")
        settings = load_settings(self.name, self.options, sandbox=self.sandbox)
        auth = context.sessions.auth(settings.credentials) if context.sessions else None
        return SalesforceApi(context.client, settings, auth=auth)
