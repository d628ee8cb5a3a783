"""The REST API as this destination calls it: one place that paces, authenticates, times out,
reads the budget header and turns a refused call into a classified error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from dispatcher.core.errors import PermanentError
from dispatcher.destinations.http import error_for_exception
from dispatcher.destinations.salesforce.auth import SalesforceAuth
from dispatcher.destinations.salesforce.budget import ApiBudget
from dispatcher.destinations.salesforce.refusals import response_error
from dispatcher.destinations.salesforce.settings import SalesforceSettings


class SalesforceApi:
    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: SalesforceSettings,
        *,
        auth: SalesforceAuth | None = None,
        budget: ApiBudget | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.auth = auth or SalesforceAuth(settings.credentials)
        self.budget = budget or ApiBudget(settings.budget_share, settings.budget_delay_seconds)

    def url(self, path: str) -> str:
        """``path`` under ``/services/data/vNN.N``."""
        return f"{self.settings.instance_url}{self.settings.data_path}{path}"

    async def call(
        self, method: str, path: str, *, json: Any = None, params: Mapping[str, str] | None = None
    ) -> Any:
        """The parsed JSON of a 2xx answer; raises the classified ``DeliveryError`` otherwise."""
        await self.budget.pace()
        try:
            response = await self.client.request(
                method, self.url(path), json=json, params=params, auth=self.auth,
                timeout=self.settings.timeout_seconds,
            )  # fmt: skip
        except httpx.HTTPError as exc:
            raise error_for_exception(exc) from exc
        self.budget.observe(response)
        if not response.is_success:
            raise response_error(response, daily_pause=self.settings.daily_limit_pause_seconds)
        return response.json() if response.content else None

    async def query(self, soql: str) -> list[dict[str, Any]]:
        """Every row of a SOQL query, following ``nextRecordsUrl`` (API-NOTES §1.5)."""
        page = await self.call("GET", "/query", params={"q": soql})
        rows: list[dict[str, Any]] = list(page.get("records", []))
        while not page.get("done", True) and page.get("nextRecordsUrl"):
            path = str(page["nextRecordsUrl"]).removeprefix(self.settings.data_path)
            page = await self.call("GET", path)
            rows.extend(page.get("records", []))
        return rows

    async def describe(self, object_name: str) -> dict[str, Any] | None:
        """``GET /sobjects/{T}/describe`` (API-NOTES §1.6); None when the org has no such object."""
        try:
            found: dict[str, Any] = await self.call(
                "GET", f"/sobjects/{quote(object_name, safe='')}/describe"
            )
        except PermanentError as exc:
            if exc.http_status == 404:
                return None
            raise
        return found


def soql_literal(value: str) -> str:
    """A SOQL string literal, backslash and quote escaped (SOQL "Quoted String Escape
    Sequences")."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
