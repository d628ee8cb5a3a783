"""The ``webhook`` destination: POST each payload as JSON with an ``Idempotency-Key`` header.

For any system we do not speak natively. The receiver should treat a repeated
``Idempotency-Key`` as the same request, which makes a redelivery after a crash harmless.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

import httpx

from dispatcher.core.destination import Message, Outcome
from dispatcher.core.errors import PermanentError
from dispatcher.core.retry import outcome_for_error
from dispatcher.destinations.http import error_for_exception, error_for_response

# RFC 9110 §5.5: a field value is visible ASCII, spaces and tabs; anything else (a newline, a
# non-ASCII letter, a bidi control such as U+202E) cannot travel in a header as it is.
_HEADER_SAFE = re.compile(r"[\x20-\x7e\t]*")


class WebhookDestination:
    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        name: str = "webhook",
        max_batch: int = 50,
        parallel: int = 10,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.max_batch = max_batch
        self._client = client
        self._url = url
        self._parallel = asyncio.Semaphore(parallel)
        self._headers = headers or {}

    async def deliver(self, batch: Sequence[Message]) -> Sequence[Outcome]:
        return await asyncio.gather(*(self._post(message) for message in batch))

    async def _post(self, message: Message) -> Outcome:
        try:
            request = self._client.build_request(
                "POST", self._url, json=message.payload, headers=self._headers_for(message)
            )
        except Exception as exc:  # this message's own problem: it fails alone
            return outcome_for_error(message.id, exc)
        async with self._parallel:
            try:
                response = await self._client.send(request)
            except httpx.HTTPError as exc:
                return outcome_for_error(message.id, error_for_exception(exc))
        if response.is_success:
            return Outcome.delivered(message.id, http_status=response.status_code)
        return outcome_for_error(message.id, error_for_response(response))

    def _headers_for(self, message: Message) -> dict[str, str]:
        headers = {
            **self._headers,
            "Idempotency-Key": _header_value("idempotency key", message.idempotency_key),
            "X-Outbox-Message-Id": str(message.id),
            "X-Outbox-Event-Type": _header_value("event type", message.event_type),
        }
        if message.correlation_id:
            headers["X-Correlation-Id"] = str(message.correlation_id)
        return headers

    async def aclose(self) -> None:
        return None


def _header_value(what: str, value: str) -> str:
    if _HEADER_SAFE.fullmatch(value):
        return value
    raise PermanentError(
        f"the {what} {value[:80]!r} cannot be sent in an HTTP header (RFC 9110 §5.5 allows "
        "visible ASCII only); publish it with ASCII letters, digits and punctuation",
        code="UNENCODABLE_MESSAGE",
    )
