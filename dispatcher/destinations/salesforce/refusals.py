"""Salesforce's error envelopes, classified once into the dispatcher's recovery classes.

Two shapes (API-NOTES §0.4 and §1.7, from the REST guide's "Status Codes and Error Responses"):
a refused request answers an array of ``{"errorCode", "message", "fields"}``; a refused record
inside an sObject Collections answer carries ``errors: [{"statusCode", "message", "fields"}]``.
The codes and what to do about each are the table of §1.7: lock contention, an unavailable
server and the *concurrent* request limit are worth another try; the *daily* request limit
("TotalRequests Limit exceeded.") pauses the whole destination instead of spending attempts;
validation and field errors are permanent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from dispatcher.core.errors import DeliveryError, PermanentError, RateLimitedError, RetryableError
from dispatcher.core.redact import redact
from dispatcher.destinations.http import RETRYABLE_STATUSES, readable_body, retry_after_seconds

RETRYABLE_CODES = frozenset(
    {
        "UNABLE_TO_LOCK_ROW",  # the platform waited 10 s for a row lock (KB 000229525)
        "SERVER_UNAVAILABLE",
        "INVALID_SESSION_ID",  # still refused after the one renewal the auth flow makes
        # Side effects of another record's or subrequest's failure, never a cause of their own.
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "PROCESSING_HALTED",
    }
)
LIMIT_CODE = "REQUEST_LIMIT_EXCEEDED"
DAILY_LIMIT_TEXT = "TotalRequests"


def seconds_to_utc_midnight(now: datetime) -> float:
    """The sandbox resets its counter at midnight UTC; a real org's rolling 24 h frees calls
    gradually, so waking at midnight and finding headroom (or pausing again) is cheap."""
    tomorrow = (now.astimezone(UTC) + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return max(1.0, (tomorrow - now).total_seconds())


def classify(
    code: str,
    message: str,
    *,
    http_status: int | None = None,
    fields: Sequence[str] = (),
    daily_pause: float | None = None,
    now: datetime | None = None,
) -> DeliveryError:
    """One Salesforce error code and message as the error the dispatcher acts on."""
    text = redact(f"{code}: {message}" + (f" (fields: {', '.join(fields)})" if fields else ""))
    if code == LIMIT_CODE and DAILY_LIMIT_TEXT in message:
        wait = daily_pause or seconds_to_utc_midnight(now or datetime.now(UTC))
        return RateLimitedError(text, code=code, http_status=http_status, retry_after=wait)
    if code in RETRYABLE_CODES or code == LIMIT_CODE:
        return RetryableError(text, code=code, http_status=http_status)
    if http_status is not None and (http_status in RETRYABLE_STATUSES or http_status >= 500):
        return RetryableError(text, code=code, http_status=http_status)
    return PermanentError(text, code=code, http_status=http_status)


def record_error(
    errors: Sequence[Mapping[str, Any]], *, daily_pause: float | None
) -> DeliveryError:
    """Shape 2, a per-record result's ``errors``: the first error decides, all are kept."""
    if not errors:
        return RetryableError("the record failed without an error", code="UNKNOWN_RECORD_ERROR")
    first = errors[0]
    detail = "; ".join(str(e.get("message", "")) for e in errors)
    fields = [str(f) for e in errors for f in (e.get("fields") or [])]
    code = str(first.get("statusCode") or first.get("errorCode") or "UNKNOWN")
    return classify(code, detail, fields=fields, daily_pause=daily_pause)


def body_error(
    status: int, body: Any, *, daily_pause: float | None, retry_after: float | None = None
) -> DeliveryError:
    """Shape 1 (a refused request's error array), or a status alone when the body is not one."""
    if isinstance(body, list) and body and isinstance(body[0], Mapping) and "errorCode" in body[0]:
        first = body[0]
        fields = [str(f) for f in first.get("fields") or []]
        error = classify(
            str(first["errorCode"]), str(first.get("message", "")),
            http_status=status, fields=fields, daily_pause=daily_pause,
        )  # fmt: skip
    elif status in RETRYABLE_STATUSES or status >= 500:
        error = RetryableError(_text(status, body), code=f"HTTP_{status}", http_status=status)
    else:
        error = PermanentError(_text(status, body), code=f"HTTP_{status}", http_status=status)
    if isinstance(error, RetryableError) and retry_after is not None:
        error.retry_after = retry_after
    return error


def response_error(response: httpx.Response, *, daily_pause: float | None) -> DeliveryError:
    try:
        body: Any = response.json()
    except (ValueError, RecursionError):  # not JSON: an HTML maintenance page, say
        body = readable_body(response)
    after = retry_after_seconds(response.headers.get("retry-after"))
    return body_error(response.status_code, body, daily_pause=daily_pause, retry_after=after)


def _text(status: int, body: Any) -> str:
    shown = body if isinstance(body, str) else json.dumps(body)
    return redact(f"HTTP {status}: {shown}") if shown else f"HTTP {status}"
