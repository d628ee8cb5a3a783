"""OAuth for server-to-server calls: a cached bearer token, renewed once when Salesforce says
the session is gone.

Both flows of API-NOTES §1.1 (help.salesforce.com "OAuth 2.0 Client Credentials Flow" and
"OAuth 2.0 JWT Bearer Flow"): a form POST to ``/services/oauth2/token`` with either
``grant_type=client_credentials`` plus the consumer key and secret, or
``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` plus an RS256 assertion
(``iss`` consumer key, ``sub`` username, ``aud`` login host, ``exp`` a few minutes ahead).
Neither returns a refresh token or a lifetime, so the token is kept until a call answers
401 ``INVALID_SESSION_ID``; then one new token is fetched and the call is sent once more.

The token request travels through the same client and transport as the call it serves
(``httpx.Auth.async_auth_flow``), and a lock makes concurrent batches share one renewal.
``SalesforceSessions`` holds one ``SalesforceAuth`` per set of credentials for the whole
process, so deliveries and scheduled jobs of a destination share one token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

import httpx
import jwt
import structlog

from dispatcher.core.errors import RetryableError
from dispatcher.core.redact import redact, remember_secret
from dispatcher.destinations.salesforce.refusals import response_error
from dispatcher.destinations.salesforce.settings import Credentials

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = 180  # seconds; simple-salesforce uses now + 3 minutes (API-NOTES §1.1)


class SalesforceAuth(httpx.Auth):
    requires_response_body = True

    def __init__(self, credentials: Credentials, *, clock: Callable[[], float] = time.time):
        self._credentials = credentials
        self._clock = clock
        self._token: str | None = None
        self._lock = asyncio.Lock()
        self.tokens_fetched = 0
        self.user_id: str | None = None  # the token's user, from its identity URL (.../id/org/user)
        self._log = structlog.get_logger("dispatcher.salesforce.auth")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("the Salesforce destination uses an httpx.AsyncClient")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = self._token
        if token is None:
            async with self._lock:
                if self._token is None:
                    self._token = self._read(await _answer((yield self._token_request())))
                token = self._token
        request.headers["Authorization"] = f"Bearer {token}"
        response = await _answer((yield request))
        if not _session_expired(response):
            return
        async with self._lock:
            if self._token == token:  # no concurrent call renewed it meanwhile
                self._log.info("session expired; fetching a new token")
                self._token = self._read(await _answer((yield self._token_request())))
            token = self._token
        request.headers["Authorization"] = f"Bearer {token}"
        yield request

    def _token_request(self) -> httpx.Request:
        c = self._credentials
        if c.flow == "jwt":
            form = {"grant_type": JWT_GRANT, "assertion": self._assertion()}
        else:
            form = {
                "grant_type": "client_credentials",
                "client_id": c.client_id,
                "client_secret": c.client_secret.get_secret_value() if c.client_secret else "",
            }
        return httpx.Request("POST", c.token_url, data=form)

    def _assertion(self) -> str:
        c = self._credentials
        claims = {
            "iss": c.client_id,
            "sub": c.username,
            "aud": c.audience,
            "exp": int(self._clock()) + ASSERTION_LIFETIME,
        }
        key = c.private_key.get_secret_value() if c.private_key else ""
        return jwt.encode(claims, key, algorithm="RS256")

    def _read(self, response: httpx.Response) -> str:
        """The access token, or a retryable error naming OAuth's ``error`` (§1.1, shape 4).

        Whatever else the token endpoint answers (a maintenance page in HTML, a 5xx, a body
        that is not JSON) is an outage of the destination, never a fault of the message being
        sent: every failure here is retryable. A wrong secret is the operator's to fix, not a
        reason to bury every message."""
        body = _json_or_none(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if response.status_code == 200 and isinstance(token, str) and token:
            self.tokens_fetched += 1
            remember_secret(token)
            identity = body.get("id")
            if isinstance(identity, str) and "/id/" in identity:
                self.user_id = identity.rstrip("/").rsplit("/", 1)[-1]
            return token
        if not isinstance(body, dict) or "error" not in body:
            error = response_error(response, daily_pause=None)
            problem = f"the token endpoint failed: {error}"
            raise RetryableError(problem, code=error.code, http_status=response.status_code)
        raise RetryableError(
            redact(f"token request refused: {body['error']}: {body.get('error_description')}"),
            code=f"OAUTH_{str(body['error']).upper()}",
            http_status=response.status_code,
        )


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json() if response.content else None
    except (ValueError, RecursionError):  # not JSON (an HTML page), or not UTF-8
        return None


class SalesforceSessions:
    """One token per destination per process: whoever calls first (a delivery or a job) fetches
    it, every later call reuses it, and it is renewed only when Salesforce answers 401
    ``INVALID_SESSION_ID`` or the token request itself was refused. Built by the daemon."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._auths: dict[Credentials, SalesforceAuth] = {}

    def auth(self, credentials: Credentials) -> SalesforceAuth:
        found = self._auths.get(credentials)
        if found is None:
            found = self._auths[credentials] = SalesforceAuth(credentials, clock=self._clock)
        return found

    @property
    def tokens_fetched(self) -> int:
        return sum(auth.tokens_fetched for auth in self._auths.values())


async def _answer(response: httpx.Response) -> httpx.Response:
    await response.aread()
    return response


def _session_expired(response: httpx.Response) -> bool:
    """401 with ``[{"errorCode": "INVALID_SESSION_ID", ...}]`` (§1.1 Simulator, §1.7)."""
    return response.status_code == 401 and b"INVALID_SESSION_ID" in response.content
