"""Keep secrets, personal data and long bodies out of attempt rows and logs.

What is masked: credentials; e-mail addresses (first letter and domain kept, enough to tell
which customer an operator is looking at); and the values of personal fields that an API error
body or a payload excerpt may echo (names, company, phone, postal address), by their key, in
JSON, form or ``key=value`` text. A person's name in free prose cannot be recognised and is not.
"""

from __future__ import annotations

import re

MAX_TEXT = 500
_SECRET_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=!-]+"),
    re.compile(
        r"(?i)((?:access_token|refresh_token|client_secret|password|api[_-]?key|assertion|token)"
        r"[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"
    ),
    re.compile(r"(?i)(x-auth-api-key[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"),
)


_EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
_PERSONAL = re.compile(
    r"(?i)([\"']?\b(?:(?:first|last|full|middle|user|account|contact)_?name|name|company|"
    r"organi[sz]ation|phone|mobile_?phone|street|address_?line\d?|city|postal_?code|zip)\b"
    r"[\"']?\s*[:=]\s*)(\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^\s,&;{}\[\]\"'][^\s,&;}\]]*)"
)


def mask(text: str) -> str:
    """Mask credentials, e-mail addresses and personal field values; nothing else changes."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1[redacted]", text)
    text = _EMAIL.sub(r"\1***@\2", text)
    return _PERSONAL.sub(r"\1[redacted]", text)


def redact(text: str, limit: int = MAX_TEXT) -> str:
    """``mask`` the text, fold white space, truncate to ``limit``: for attempt rows."""
    text = " ".join(mask(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
