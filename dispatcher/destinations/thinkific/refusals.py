"""What Thinkific's error answers say, and what the destination does next because of them.

Thinkific answers errors in three shapes (API-NOTES §2.5): ``{"error": "..."}`` (400, 401, 403,
404), ``{"errors": {"field": ["msg"]}}`` and ``{"errors": ["msg", ...]}`` (both 422). The
algorithm reads the messages (a taken e-mail, "already enrolled", a user the site no longer
knows) to choose its next call; everything else keeps the shared classification of
``dispatcher.destinations.http``: 429 waits, 5xx and Cloudflare 52x retry, other 4xx are
permanent with the body kept, redacted, on the attempt.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import httpx

from dispatcher.core.errors import DeliveryError, PermanentError
from dispatcher.destinations.http import error_for_response

_CODES = {
    400: "BAD_REQUEST",
    401: "AUTHENTICATION_ERROR",
    403: "FORBIDDEN",
    404: "RECORD_NOT_FOUND",
    422: "UNPROCESSABLE_ENTITY",
}
# The sandbox's assumed wordings (API-NOTES §2.2, §2.3); matched loosely, by their key words.
TAKEN = "has already been taken"
ALREADY_ENROLLED = "already enrolled"
USER_NOT_FOUND = "user could not be found"
INVALID_GROUP_NAMES = "invalid group_names"


class ThinkificRejected(PermanentError):
    """A 4xx the site gave for this request; ``messages`` are its error texts, flattened."""

    def __init__(
        self, message: str, *, code: str, http_status: int, messages: tuple[str, ...]
    ) -> None:
        super().__init__(message, code=code, http_status=http_status)
        self.messages = messages

    def says(self, words: str) -> bool:
        """Whether any message contains ``words``, ignoring case."""
        return any(words in text.casefold() for text in self.messages)


def messages_of(body: Any) -> tuple[str, ...]:
    """Every error text in any of the three shapes; a field error reads ``email has already
    been taken``, as Rails would print it."""
    if not isinstance(body, dict):
        return ()
    found = body.get("errors", body.get("error"))
    if isinstance(found, str):
        return (found,)
    if isinstance(found, list):
        return tuple(str(item) for item in found)
    if isinstance(found, dict):
        return tuple(
            f"{field} {text}"
            for field, texts in found.items()
            for text in (texts if isinstance(texts, list) else [texts])
        )
    return ()


def error_for(response: httpx.Response) -> DeliveryError:
    """Classify a non-2xx answer once; a permanent one keeps the site's own messages."""
    status = response.status_code
    shared = error_for_response(response, code=_CODES.get(status))
    if not isinstance(shared, PermanentError):
        return shared
    try:
        body = response.json()
    except ValueError:
        body = None
    return ThinkificRejected(
        str(shared),
        code=shared.code or f"HTTP_{status}",
        http_status=status,
        messages=messages_of(body),
    )


async def unless_gone(call: Awaitable[Any]) -> bool:
    """Await a write to a record we know by id; False when the site answers 404, the record
    having been deleted there since, so the caller forgets the id rather than failing."""
    try:
        await call
    except ThinkificRejected as refused:
        if refused.http_status != 404:
            raise
        return False
    return True
