"""Keep secrets and long bodies out of attempt rows and logs."""

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


def redact(text: str, limit: int = MAX_TEXT) -> str:
    """Mask credentials and e-mail addresses, fold white space, truncate to ``limit``."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1[redacted]", text)
    text = _EMAIL.sub(r"\1***@\2", text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
