"""Faults a test or an operator arms on purpose: latency, 5xx, lock errors, limits, drops, drift.

Rules fire per request (optionally only on paths containing ``path``), with a probability and
an optional count ("the next N requests"). ``UNABLE_TO_LOCK_ROW`` rules marked ``per_record``
fail single records inside sObject Collections instead of the whole call. Schema changes (a
renamed field, a removed picklist value) model an admin editing the org under a live mapping.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from sandboxes.salesforce.errors import (
    CONCURRENT_LIMIT,
    DAILY_LIMIT,
    SERVER_UNAVAILABLE,
    ApiError,
    unable_to_lock,
)
from sandboxes.salesforce.schema import Schema


class FaultKind(StrEnum):
    LATENCY = "latency"
    SERVER_UNAVAILABLE = "server_unavailable"
    UNABLE_TO_LOCK_ROW = "unable_to_lock_row"
    CONCURRENT_LIMIT = "concurrent_limit"
    DAILY_LIMIT = "daily_limit"
    DROP_CONNECTION = "drop_connection"
    # The HTML "We are down for maintenance" page the login and instance hosts serve instead of
    # JSON during maintenance or an edge failure (seen with 503 in forcedotcom/cli#2487 and from
    # the login endpoint in forcedotcom/EMP-Connector#84); ``status`` picks the code.
    MAINTENANCE_PAGE = "maintenance_page"


@dataclass
class FaultRule:
    kind: FaultKind
    probability: float = 1.0
    remaining: int | None = None
    latency_ms: int = 0
    path: str | None = None
    per_record: bool = False
    status: int = 503  # of a maintenance page

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "kind": self.kind.value}


@dataclass(frozen=True, slots=True)
class SchemaChange:
    sobject: str
    field: str
    renamed_to: str | None = None
    removed_value: str | None = None

    def apply(self, schema: Schema) -> Schema:
        if self.renamed_to is not None:
            return schema.with_field_renamed(self.sobject, self.field, self.renamed_to)
        return schema.without_picklist_value(self.sobject, self.field, self.removed_value or "")


# Status and body of each refusing fault. UNABLE_TO_LOCK_ROW at top level is a 400 (API-NOTES
# §1.7 table); the record id in its message is not known at this point, so a placeholder stands.
_REFUSALS: dict[FaultKind, tuple[int, ApiError]] = {
    FaultKind.SERVER_UNAVAILABLE: (503, SERVER_UNAVAILABLE),
    FaultKind.UNABLE_TO_LOCK_ROW: (400, unable_to_lock("")),
    FaultKind.CONCURRENT_LIMIT: (403, CONCURRENT_LIMIT),
    FaultKind.DAILY_LIMIT: (403, DAILY_LIMIT),
}


@dataclass
class Faults:
    rng: random.Random
    rules: list[FaultRule] = field(default_factory=list)
    outage: bool = False
    schema_changes: list[SchemaChange] = field(default_factory=list)

    def inject(self, kind: FaultKind | str, **options: Any) -> FaultRule:
        rule = FaultRule(FaultKind(kind), **options)
        self.rules.append(rule)
        return rule

    def rename_field(self, sobject: str, old: str, new: str) -> None:
        self.schema_changes.append(SchemaChange(sobject, old, renamed_to=new))

    def remove_picklist_value(self, sobject: str, field_name: str, value: str) -> None:
        self.schema_changes.append(SchemaChange(sobject, field_name, removed_value=value))

    def clear(self) -> None:
        self.rules.clear()
        self.schema_changes.clear()
        self.outage = False

    def reshape(self, schema: Schema) -> Schema:
        for change in self.schema_changes:
            schema = change.apply(schema)
        return schema

    def draw(self, path: str) -> list[FaultRule]:
        """The request-level rules that fire for one request; each firing uses up one count."""
        return [
            rule for rule in list(self.rules) if not rule.per_record and self._fires(rule, path)
        ]

    def draw_record_lock(self, path: str) -> bool:
        return any(
            self._fires(rule, path)
            for rule in list(self.rules)
            if rule.per_record and rule.kind is FaultKind.UNABLE_TO_LOCK_ROW
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "outage": self.outage,
            "rules": [rule.as_json() for rule in self.rules],
            "schema_changes": [asdict(change) for change in self.schema_changes],
        }

    def _fires(self, rule: FaultRule, path: str) -> bool:
        if rule.path is not None and rule.path not in path:
            return False
        if self.rng.random() >= rule.probability:
            return False
        if rule.remaining is not None:
            rule.remaining -= 1
            if rule.remaining <= 0:
                self.rules.remove(rule)
        return True


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised after the response has started, so a real server closes the socket mid-message.

    It is an httpx transport error, so an in-process client classifies it as a network failure.
    """


class FaultMiddleware:
    """Applies request-level faults to ``/services/...`` before the sandbox sees the request."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not path.startswith("/services/"):
            await self.app(scope, receive, send)
            return
        if self.faults.outage:
            await _refuse(send, 503, SERVER_UNAVAILABLE)
            return
        fired = self.faults.draw(path)
        delay = sum(rule.latency_ms for rule in fired if rule.kind is FaultKind.LATENCY)
        if delay:
            await asyncio.sleep(delay / 1000)
        for rule in fired:
            if rule.kind is FaultKind.DROP_CONNECTION:
                await _drop(send)
            if rule.kind is FaultKind.MAINTENANCE_PAGE:
                await _maintenance_page(send, rule.status)
                return
            if rule.kind in _REFUSALS:
                await _refuse(send, *_REFUSALS[rule.kind])
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, error: ApiError) -> None:
    body = json.dumps([error.top_level()]).encode()
    headers = [(b"content-type", b"application/json;charset=UTF-8")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


MAINTENANCE_HTML = (
    b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n<html><head></head>'
    b"<body><center><table><tr><td><span>We are down for maintenance.</span><br><br>"
    b"Sorry for the inconvenience. We'll be back shortly.</td></tr></table></center></body>"
    b"</html>\n"
)


async def _maintenance_page(send: Send, status: int) -> None:
    headers = [(b"content-type", b"text/html;charset=UTF-8")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": MAINTENANCE_HTML})


async def _drop(send: Send) -> None:
    """Start a response that promises a body, then fail: the client sees a broken connection.

    Over uvicorn the socket closes with the body incomplete; in-process through
    ``httpx.ASGITransport`` the exception itself reaches the caller.
    """
    headers = [(b"content-type", b"application/json"), (b"content-length", b"64")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    raise ConnectionDropped("connection dropped by an injected fault")
