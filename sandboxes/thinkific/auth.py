"""Who is calling: a private app's key and subdomain, or an OAuth app's bearer token.

Either form is accepted (OpenAPI ``securitySchemes``: ``ApiKey`` with ``ApiKeySubdomain``, or
``OAuthAccessToken``); anything else is a 401 ``{"error":"Authentication Error"}`` (API-NOTES
§2.1).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from sandboxes.thinkific.settings import SandboxSettings


def authenticated(settings: SandboxSettings, headers: Mapping[str, str]) -> bool:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return any(hmac.compare_digest(token, known) for known in settings.bearer_tokens)
    key = headers.get("x-auth-api-key", "")
    subdomain = headers.get("x-auth-subdomain", "")
    return hmac.compare_digest(key, settings.api_key) and subdomain == settings.subdomain


def site_of(settings: SandboxSettings, headers: Mapping[str, str]) -> str:
    """The subdomain a request is counted against: the one it names, else the sandbox's own.

    A bearer token belongs to one site, so a request that names none is that site's.
    """
    return headers.get("x-auth-subdomain") or settings.subdomain
