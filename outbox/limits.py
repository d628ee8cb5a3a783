"""The publish contract's limits, checked in Python before anything is sent.

The database is the authority (``outbox.check_message`` in ``sql/functions/publish.sql``
refuses the same messages for every language); checking here first gives a Python caller the
error before its transaction is touched, and catches what JSON would silently change (a float
NaN becomes ``null``) or PostgreSQL cannot store (a NUL character). A test drives both with the
same hostile input and expects the same verdicts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from outbox.errors import InvalidMessageError

MAX_DESTINATION_LENGTH = 63
MAX_EVENT_TYPE_LENGTH = 100
MAX_KEY_LENGTH = 200
MAX_PAYLOAD_DEPTH = 32
MAX_PAYLOAD_BYTES = 1_048_576

_DESTINATION = re.compile(r"[a-z][a-z0-9_]*")
_EVENT_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9._:-]*")
# Control characters, and the invisible formatting and direction marks (U+202E and friends) that
# make a key read differently from what it is; surrogates cannot be stored at all.
UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
    "\ud800-\udfff]"
)


def check_destination(destination: object) -> str:
    if (
        not isinstance(destination, str)
        or len(destination) > MAX_DESTINATION_LENGTH
        or not _DESTINATION.fullmatch(destination)
    ):
        shown = len(destination) if isinstance(destination, str) else type(destination).__name__
        raise InvalidMessageError(
            f"destination is not a destination name ({shown}); pass a name from "
            "outbox.destinations: lower-case letters, digits and _, at most "
            f"{MAX_DESTINATION_LENGTH} characters"
        )
    return destination


def check_event_type(event_type: object) -> str:
    if not isinstance(event_type, str) or not event_type.strip(" "):
        raise InvalidMessageError(
            "event_type must not be empty; pass what happened, e.g. 'order.placed'"
        )
    if len(event_type) > MAX_EVENT_TYPE_LENGTH or not _EVENT_TYPE.fullmatch(event_type):
        raise InvalidMessageError(
            f"event_type is not a plain name ({len(event_type)} characters); use at most "
            f"{MAX_EVENT_TYPE_LENGTH} ASCII letters, digits and . _ : -, starting with a letter"
        )
    return event_type


def check_key(name: str, value: object) -> str | None:
    """An ordering or idempotency key: None, or 1 to 200 printable characters."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidMessageError(f"{name} must be text or None, got {type(value).__name__}")
    if not value.strip(" ") or len(value) > MAX_KEY_LENGTH:
        raise InvalidMessageError(
            f"{name} must be 1 to {MAX_KEY_LENGTH} characters, got {len(value)}; leave it out "
            "(None) rather than empty"
        )
    bad = UNPRINTABLE.search(value)
    if bad:
        raise InvalidMessageError(
            f"{name} holds the character U+{ord(bad.group()):04X} at position {bad.start() + 1}; "
            "keys take printable characters only"
        )
    return value


def check_payload(payload: object) -> Mapping[str, Any]:
    """A JSON object no deeper than the contract allows, holding only finite numbers and text
    PostgreSQL can store."""
    if not isinstance(payload, Mapping):
        raise InvalidMessageError(
            f"payload must be a JSON object (a mapping), got {type(payload).__name__}"
        )
    _check_value(payload, 0)
    return payload


def check_payload_size(size: int) -> None:
    if size > MAX_PAYLOAD_BYTES:
        raise InvalidMessageError(
            f"payload is {size} bytes of JSON, more than 1 MiB ({MAX_PAYLOAD_BYTES}); send what "
            "the destination needs, with ids for the rest"
        )


def _check_value(value: Any, level: int) -> None:
    """Walk the payload; ``level`` counts the containers around ``value``."""
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidMessageError("payload text holds a NUL character; JSONB cannot store it")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidMessageError(
                f"payload holds the number {value}; JSON has no NaN or Infinity, so send a "
                "finite number or null"
            )
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidMessageError(
                f"payload holds the amount {value}; send a finite amount or null"
            )
    elif isinstance(value, Mapping | list | tuple):
        if level >= MAX_PAYLOAD_DEPTH:
            raise InvalidMessageError(
                f"payload is nested more than {MAX_PAYLOAD_DEPTH} levels deep; flatten it"
            )
        if isinstance(value, Mapping):
            for key, item in value.items():
                _check_value(key, level + 1)
                _check_value(item, level + 1)
        else:
            for item in value:
                _check_value(item, level + 1)
