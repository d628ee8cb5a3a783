"""What stands in front of the site's API, in the order a real request meets it.

1. The edge (Cloudflare): the outage switch, injected 52x answers and dropped connections.
   These never reach the site, so they carry no rate-limit headers.
2. The rate limiter: every request that passes the edge spends one of its subdomain's
   per-minute budget; over the budget it is a 429. From here on every answer carries the
   ``ratelimit-*`` headers (API-NOTES §2.5).
3. Injected 429s, the optional concurrency cap, injected 500/502/503, then authentication.
4. The query string against the operation's documented parameters (``contract``): a value
   not of its declared type is a 400 in the ``ErrorBadRequest`` shape (wording assumed).
5. The endpoint itself, which checks the body against the contract (``wire.read_body``).

Latency faults delay the request before all of this. Paths outside ``/api/public/v1`` (the
``/__sandbox`` admin endpoints) pass straight through, uncounted.
"""

from __future__ import annotations

import asyncio
import json
import re
from http import HTTPStatus

from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandboxes.thinkific.auth import authenticated, site_of
from sandboxes.thinkific.contract import operation, query_problems
from sandboxes.thinkific.faults import ConnectionDropped, FaultKind, FaultRule
from sandboxes.thinkific.ratelimit import Quota
from sandboxes.thinkific.settings import API_BASE
from sandboxes.thinkific.state import SandboxState
from sandboxes.thinkific.wire import AUTHENTICATION_ERROR

_NUMBER = re.compile(r"/\d+(?=/|$)")
_EDGE = (FaultKind.CLOUDFLARE, FaultKind.DROP_CONNECTION)
# The 429 body is undocumented; only the status and headers are reliable (API-NOTES §2.5).
# ``{"error": ...}`` is the assumed shape; the wording follows the API gateway's usual one.
RATE_LIMIT_MESSAGE = "API rate limit exceeded"
CONCURRENCY_MESSAGE = "Too many concurrent requests"
OUTAGE_MESSAGE = "Service Unavailable"


def endpoint_of(method: str, path: str) -> str:
    """``POST /users/42`` becomes ``POST /users/{id}``, so stats group by endpoint."""
    return f"{method} {_NUMBER.sub('/{id}', path.removeprefix(API_BASE)) or '/'}"


class Gate:
    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Decide at arrival whether the request is one too many in flight, then walk the gate."""
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not path.startswith(API_BASE):
            await self.app(scope, receive, send)
            return
        traffic = self.state.traffic
        cap = self.state.settings.max_in_flight
        over_cap = cap is not None and traffic.in_flight >= cap
        traffic.in_flight += 1
        traffic.peak_in_flight = max(traffic.peak_in_flight, traffic.in_flight)
        try:
            await self._pass(scope, receive, send, over_cap)
        finally:
            traffic.in_flight -= 1

    async def _pass(self, scope: Scope, receive: Receive, send: Send, over_cap: bool) -> None:
        method, path = str(scope["method"]), str(scope["path"])
        counted = self._counting(send, endpoint_of(method, path))
        fired = self.state.faults.draw(method, path)
        delay = sum(rule.latency_ms for rule in fired if rule.kind is FaultKind.LATENCY)
        if delay:
            await asyncio.sleep(delay / 1000)
        if await self._at_edge(fired, send, counted):
            return
        headers = Headers(scope=scope)
        quota = self.state.limiter.take(site_of(self.state.settings, headers))
        if await self._refused(fired, quota, over_cap, headers, counted):
            return
        stamped = _stamping(counted, quota)
        bad = _bad_parameter(method, path, scope)
        if bad is not None:
            await _answer_json(stamped, 400, f"Parameter {bad} is invalid.")
            return
        await self.app(scope, receive, stamped)

    async def _at_edge(self, fired: list[FaultRule], raw: Send, counted: Send) -> bool:
        """Outage, Cloudflare 52x (its plain-text ``error code: 52x``) or a dropped connection.

        A dropped connection has no status, so it is counted among the faults fired, not among
        the calls answered.
        """
        if self.state.faults.outage:
            await _answer_json(counted, 503, OUTAGE_MESSAGE)
            return True
        for rule in (r for r in fired if r.kind in _EDGE):
            if rule.kind is FaultKind.DROP_CONNECTION:
                await _drop(raw)
            status = rule.status or 520
            await _answer(counted, status, f"error code: {status}".encode(), "text/plain")
            return True
        return False

    async def _refused(
        self, fired: list[FaultRule], quota: Quota, over_cap: bool, headers: Headers, send: Send
    ) -> bool:
        """Answer the request here if something refuses it; ``send`` is not yet stamped."""
        traffic = self.state.traffic
        injected = {rule.kind: rule.status or 0 for rule in fired}
        limited = not quota.allowed or FaultKind.RATE_LIMITED in injected
        send = _stamping(send, quota.exhausted() if limited else quota)
        if limited:
            traffic.rate_limited += 1
            await _answer_json(send, 429, RATE_LIMIT_MESSAGE)
        elif over_cap:
            traffic.rate_limited += 1
            traffic.concurrency_limited += 1
            await _answer_json(send, 429, CONCURRENCY_MESSAGE)
        elif FaultKind.SERVER_ERROR in injected:
            status = injected[FaultKind.SERVER_ERROR]
            await _answer_json(send, status, HTTPStatus(status).phrase)
        elif not authenticated(self.state.settings, headers):
            await _answer_json(send, 401, AUTHENTICATION_ERROR)
        else:
            return False
        return True

    def _counting(self, send: Send, endpoint: str) -> Send:
        calls = self.state.traffic.calls

        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start":
                calls[(endpoint, int(message["status"]))] += 1
            await send(message)

        return counting


def _bad_parameter(method: str, path: str, scope: Scope) -> str | None:
    """The first documented query parameter whose value is not of its declared type."""
    op = operation(method, path.removeprefix(API_BASE))
    if op is None:
        return None
    query = QueryParams(scope.get("query_string", b"").decode("latin-1"))
    problems = query_problems(op, query)
    return min(problems) if problems else None


def _stamping(send: Send, quota: Quota) -> Send:
    """Put the rate-limit headers on the response, replacing any set further in."""
    extra = [(k.encode(), v.encode()) for k, v in quota.headers().items()]
    names = {k for k, _ in extra}

    async def stamping(message: Message) -> None:
        if message["type"] == "http.response.start":
            kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
            message = {**message, "headers": kept + extra}
        await send(message)

    return stamping


async def _answer_json(send: Send, status: int, message: str) -> None:
    await _answer(send, status, json.dumps({"error": message}).encode(), "application/json")


async def _answer(send: Send, status: int, body: bytes, content_type: str) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _drop(send: Send) -> None:
    """Promise a body, then fail: over a socket the client sees the connection close early."""
    headers = [(b"content-type", b"application/json"), (b"content-length", b"128")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    raise ConnectionDropped("the connection was dropped by an injected fault")
