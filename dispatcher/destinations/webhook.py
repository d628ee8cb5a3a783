"""The ``webhook`` destination: POST each payload as JSON with an ``Idempotency-Key`` header.

For any system we do not speak natively. The receiver should treat a repeated
``Idempotency-Key`` as the same request, which makes a redelivery after a crash harmless.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx

from dispatcher.destinations.base import Message, Outcome
from dispatcher.destinations.http import error_for_exception, error_for_response
from dispatcher.retry import outcome_for_error


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
        headers = {
            **self._headers,
            "Idempotency-Key": message.idempotency_key,
            "X-Outbox-Message-Id": str(message.id),
            "X-Outbox-Event-Type": message.event_type,
        }
        if message.correlation_id:
            headers["X-Correlation-Id"] = str(message.correlation_id)
        async with self._parallel:
            try:
                response = await self._client.post(self._url, json=message.payload, headers=headers)
            except httpx.HTTPError as exc:
                return outcome_for_error(message.id, error_for_exception(exc))
        if response.is_success:
            return Outcome.delivered(message.id, http_status=response.status_code)
        return outcome_for_error(message.id, error_for_response(response))

    async def aclose(self) -> None:
        return None
