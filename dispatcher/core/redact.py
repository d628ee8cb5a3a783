"""Keep secrets, personal data and long bodies out of attempt rows, logs and reports.

What is masked:

- the values this process knows to be secret (configured secrets read from the environment,
  the access tokens it holds), wherever they appear, registered with ``remember_secret``;
- credentials by shape: ``Authorization: Basic|Bearer|Token ...`` and bare ``Bearer`` values,
  ``key=value`` credentials, Salesforce session ids;
- e-mail addresses (first letter and domain kept, enough to tell which customer an operator is
  looking at) and international or North American phone numbers in prose;
- the values of personal fields an API error body or a payload excerpt may echo, by their key,
  in JSON, form or ``key=value`` text: names, company, phone, postal address, both as our
  payloads spell them (``first_name``) and as the Salesforce mapping writes them
  (``MailingStreet``, ``HomePhone``, ``BillingCity``, ``Event_Name__c``).

A person's name in free prose cannot be recognised by its shape; ``scrub_values`` removes the
values a message itself carries from that message's own error text.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MAX_TEXT = 500
MASK = "[redacted]"
_SECRET_PATTERNS = (
    re.compile(
        r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?(?:basic|bearer|token|digest|oauth)?\s*)"
        r"[^\s\"'&,}]+"
    ),
    re.compile(r"(?i)(\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=!-]{6,}"),
    re.compile(
        r"(?i)((?:access_token|refresh_token|client_secret|password|api[_-]?key|assertion|token|"
        r"secret)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"
    ),
    re.compile(r"(?i)(x-auth-api-key[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"),
    # A Salesforce session id / access token: org id, "!", then the session part.
    re.compile(r"()\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]{20,}"),
)
_EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
_PHONE = re.compile(
    r"(?<![\w.+-])(?:\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d[\d\s.-]{5,}\d"
    r"|\(\d{3}\)\s?\d{3}[\s.-]\d{4})(?![\w.-])"
)
# Key names of personal fields, matched whole, case-insensitive, with any prefix (Mailing,
# Billing, Home, first_, ...) and an optional Salesforce custom suffix.
PERSONAL_KEY = (
    r"[a-z0-9_]*?(?:name|company|organi[sz]ation|phone|mobile|fax|street|address"
    r"|city|postal_?code|zip(?:_?code)?|birth_?date|(?:mailing|billing|shipping|other)_?"
    r"(?:state|country|latitude|longitude))(?:_?(?:number|line_?\d?))?(?:__c)?"
)
_PERSONAL_KEY = re.compile(rf"(?i){PERSONAL_KEY}")
_PERSONAL = re.compile(
    rf"(?i)([\"']?\b{PERSONAL_KEY}\b[\"']?\s*[:=]\s*)"
    r"(\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^\s,&;{}\[\]\"'][^\s,&;}\]]*)"
)

_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()
_known: re.Pattern[str] | None = None


def remember_secret(value: str | None) -> None:
    """Mask ``value`` wherever it appears from now on (a secret, a token just fetched)."""
    global _secrets, _known
    if not value or len(value) < 4 or value in _secrets:
        return
    with _lock:
        _secrets = _secrets | {value}
        ordered = sorted(_secrets, key=len, reverse=True)
        _known = re.compile("|".join(re.escape(s) for s in ordered))


def forget_secrets() -> None:
    """For tests that configure several processes' worth of secrets in one interpreter."""
    global _secrets, _known
    with _lock:
        _secrets, _known = frozenset(), None


def mask(text: str) -> str:
    """Mask known secrets, credentials, e-mail addresses, phone numbers and personal field
    values; nothing else changes."""
    known = _known
    if known is not None:
        text = known.sub(MASK, text)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(rf"\1{MASK}", text)
    text = _EMAIL.sub(r"\1***@\2", text)
    text = _PHONE.sub(MASK, text)
    return _PERSONAL.sub(rf"\1{MASK}", text)


def redact(text: str, limit: int = MAX_TEXT) -> str:
    """``mask`` the text, fold white space, truncate to ``limit``: for attempt rows. A NUL
    character (which no PostgreSQL text can hold) counts as white space."""
    text = " ".join(mask(text).replace("\x00", " ").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_personal_key(key: str) -> bool:
    return _PERSONAL_KEY.fullmatch(key) is not None


def personal_values(payload: Mapping[str, Any], depth: int = 4) -> set[str]:
    """The string values of personal fields in a payload (nested objects and lists included,
    to a small depth): what ``scrub_values`` removes from that message's error text."""
    found: set[str] = set()
    stack: list[tuple[Any, int]] = [(payload, 0)]
    while stack:
        node, level = stack.pop()
        if level > depth:
            continue
        items: Iterable[tuple[Any, Any]] = (
            node.items() if isinstance(node, Mapping) else enumerate(node)
        )
        for key, value in items:
            if isinstance(value, Mapping | list):
                stack.append((value, level + 1))
            elif isinstance(value, str) and len(value) >= 2 and is_personal_key(str(key)):
                found.add(value)
    return found


def scrub_values(text: str, values: Iterable[str]) -> str:
    """Replace each of ``values`` in ``text``: a name or phone echoed in an error sentence."""
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text
