"""``POST /services/oauth2/token`` (client-credentials and JWT bearer grants) and bearer checks.

Shapes from API-NOTES §1.1: the success body carries access_token, instance_url (this sandbox),
id, token_type, issued_at (epoch milliseconds as a string) and signature (base64 HMAC-SHA256 of
``id + issued_at`` keyed with the client secret). OAuth errors are ``{error, error_description}``.
Tokens are opaque, live ``token_lifetime``, and can all be revoked at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from urllib.parse import parse_qs

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse

from sandboxes.salesforce.state import SandboxState

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


async def token_endpoint(request: Request) -> JSONResponse:
    state: SandboxState = request.app.state.sandbox
    state.calls["oauth2.token"] += 1
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
    try:
        host = request.url.hostname or ""
        if host.startswith(("login.", "test.")) and form.get("grant_type") == "client_credentials":
            raise OAuthError(400, "invalid_grant", "request not supported on this domain")
        if form.get("grant_type") == "client_credentials":
            _check_client_credentials(state, form, request.headers.get("authorization", ""))
        elif form.get("grant_type") == JWT_GRANT:
            _check_assertion(state, form.get("assertion", ""), str(request.base_url))
        else:
            raise OAuthError(400, "unsupported_grant_type", "grant type not supported")
    except OAuthError as refused:
        body = {"error": refused.error, "error_description": refused.description}
        return JSONResponse(body, status_code=refused.status)
    return JSONResponse(_issue(state, str(request.base_url).rstrip("/")))


def bearer_is_valid(state: SandboxState, authorization: str) -> bool:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() not in ("bearer", "oauth") or not token:
        return False
    expires = state.tokens.get(token.strip())
    return expires is not None and state.settings.clock() < expires


def _check_client_credentials(state: SandboxState, form: dict[str, str], header: str) -> None:
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    if header.lower().startswith("basic "):
        client_id, secret = _basic(header)
    if client_id != state.settings.client_id:
        raise OAuthError(400, "invalid_client_id", "client identifier invalid")
    if not hmac.compare_digest(secret, state.settings.client_secret):
        raise OAuthError(400, "invalid_client", "invalid client credentials")


def _basic(header: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(header.split(" ", 1)[1], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as bad:
        raise OAuthError(401, "invalid_client", "invalid client credentials") from bad
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


def _check_assertion(state: SandboxState, assertion: str, base_url: str) -> None:
    """Validate the JWT as Salesforce does: signature, issuer, audience, expiry, then the user."""
    settings = state.settings
    if settings.jwt_public_key is None:
        raise OAuthError(400, "invalid_grant", "invalid assertion")
    audiences = [*settings.jwt_audiences, base_url.rstrip("/")]
    try:
        claims = jwt.decode(
            assertion,
            settings.jwt_public_key,
            algorithms=["RS256"],
            audience=audiences,
            options={"require": ["iss", "sub", "aud", "exp"]},
            leeway=0,
        )
    except jwt.ExpiredSignatureError as expired:
        raise OAuthError(400, "invalid_grant", "expired authorization code") from expired
    except jwt.InvalidAudienceError as audience:
        raise OAuthError(400, "invalid_grant", "audience is invalid") from audience
    except jwt.PyJWTError as invalid:
        raise OAuthError(400, "invalid_grant", "invalid assertion") from invalid
    if claims["iss"] != settings.client_id:
        raise OAuthError(400, "invalid_client_id", "client identifier invalid")
    if claims["sub"] != settings.username:
        raise OAuthError(400, "invalid_grant", "user hasn't approved this consumer")


def _issue(state: SandboxState, base: str) -> dict[str, str]:
    settings = state.settings
    now = settings.clock()
    token = f"{settings.org_id[:15]}!{secrets.token_urlsafe(48)}"
    state.tokens[token] = now + settings.token_lifetime
    identity = f"{base}/id/{settings.org_id}/{settings.user_id}"
    issued_at = str(int(now.timestamp() * 1000))
    digest = hmac.new(
        settings.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
    ).digest()
    return {
        "access_token": token,
        "signature": base64.b64encode(digest).decode(),
        "scope": "api",
        "instance_url": base,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
    }
