"""What every HTTP destination shares: reading Retry-After and classifying a response."""

from __future__ import annotations

import html
import re
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from dispatcher.core.breaker import CircuitBreaker
from dispatcher.core.errors import (
    DeliveryError,
    NotSentError,
    PermanentError,
    RateLimitedError,
    RetryableError,
)
from dispatcher.core.redact import redact

_TAG = re.compile(r"<(?:script|style)\b.*?</(?:script|style)>|<!--.*?-->|<[^>]*>", re.S | re.I)

RETRYABLE_STATUSES = frozenset({408, 425, 500, 502, 503, 504}) | frozenset(range(520, 531))


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def reset_after_seconds(response: httpx.Response, *, now: float | None = None) -> float | None:
    """Seconds until a rate limit resets, from Retry-After or a ``ratelimit-reset`` header.

    ``ratelimit-reset`` is read as an absolute epoch in milliseconds when it is that large (as
    Thinkific sends it), as an epoch in seconds when it looks like one, and otherwise as seconds
    to wait.
    """
    after = retry_after_seconds(response.headers.get("retry-after"))
    if after is not None:
        return after
    raw = response.headers.get("ratelimit-reset") or response.headers.get("x-ratelimit-reset")
    if raw is None:
        return None
    try:
        reset = float(raw)
    except ValueError:
        return None
    current = time.time() if now is None else now
    if reset > 1e12:
        return max(0.0, reset / 1000 - current)
    if reset > 1e9:
        return max(0.0, reset - current)
    return reset


def readable_body(response: httpx.Response) -> str:
    """The body as an operator should read it: an HTML error page (a proxy's or a maintenance
    page) reduced to its text, anything else as sent."""
    text = response.text
    if "html" in response.headers.get("content-type", "") or text.lstrip()[:1] == "<":
        text = " ".join(html.unescape(_TAG.sub(" ", text)).split())
    return text


def error_for_response(response: httpx.Response, *, code: str | None = None) -> DeliveryError:
    """Classify a non-2xx response: 429 waits, 5xx/52x/408 retry, any other 4xx is permanent."""
    status = response.status_code
    text = redact(readable_body(response))
    message = f"HTTP {status}: {text}" if text else f"HTTP {status}"
    if status == 429:
        return RateLimitedError(
            message,
            code=code or "RATE_LIMITED",
            http_status=status,
            retry_after=reset_after_seconds(response),
        )
    if status in RETRYABLE_STATUSES or status >= 500:
        return RetryableError(
            message,
            code=code or f"HTTP_{status}",
            http_status=status,
            retry_after=retry_after_seconds(response.headers.get("retry-after")),
        )
    return PermanentError(message, code=code or f"HTTP_{status}", http_status=status)


def error_for_exception(exc: httpx.HTTPError) -> RetryableError:
    """Transport failures (refused, reset, timed out) are always worth another try; a call the
    breaker kept back was never sent."""
    if isinstance(exc, BreakerOpen):
        return NotSentError(str(exc), code="BREAKER_OPEN", retry_after=exc.retry_after)
    kind = type(exc).__name__
    return RetryableError(redact(f"{kind}: {exc}") or kind, code=kind.upper())


class BreakerOpen(httpx.TransportError):
    """Raised instead of sending a request while the destination's breaker is open."""

    def __init__(self, request: httpx.Request, retry_after: float) -> None:
        super().__init__(
            f"not sent: the circuit breaker is open (next probe in {retry_after:.1f} s)",
            request=request,
        )
        self.retry_after = retry_after


class BreakerTransport(httpx.AsyncBaseTransport):
    """Every call of one destination passes the breaker: counted when it fails (no answer, or a
    5xx), and refused before it leaves while the breaker is open."""

    def __init__(self, breaker: CircuitBreaker, inner: httpx.AsyncBaseTransport) -> None:
        self._breaker = breaker
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        wait = self._breaker.admit()
        if wait is not None:
            raise BreakerOpen(request, wait)
        try:
            response = await self._inner.handle_async_request(request)
        except Exception:
            self._breaker.failed()
            raise
        except BaseException:  # cancelled: no verdict on the destination
            self._breaker.abandoned()
            raise
        if response.status_code >= 500:
            self._breaker.failed()
        else:
            self._breaker.answered()
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
