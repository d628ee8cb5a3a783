"""The console's pages as HTML, from rows the console read: no database access here."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from dispatcher.core.redact import mask
from dispatcher.mapping import MappedMessage
from dispatcher.ops.html import action_form, h, link, moment, notice, table

Row = Mapping[str, Any]


def dead_letters(
    causes: Sequence[Row],
    dead: Sequence[Row],
    done: Sequence[Row],
    filters: Mapping[str, Any],
    csrf: str | None,
    now: datetime,
    *,
    more: bool,
    note: str | None,
) -> str:
    cause_rows = [
        (
            h(c["destination"]),
            _filter_link(c["destination"], c["error_code"]),
            h(c["messages"]),
            moment(c["first_seen"], now),
            moment(c["last_seen"], now),
            action_form(
                "/actions/retry-cause",
                f"Retry all {c['messages']}",
                csrf,
                {"destination": c["destination"], "error_code": c["error_code"]},
            )
            if c["error_code"] is not None
            else "",
        )
        for c in causes
    ]
    letters = [
        (
            link(d["id"]),
            h(d["destination"]),
            h(d["event_type"]),
            h(d["error_code"]),
            f'<span class="err">{h(mask(d["error_message"] or ""))}</span>',
            h(d["attempts"]),
            moment(d["last_attempt_at"], now),
            action_form("/actions/retry", "Retry", csrf, {"message_id": d["id"]})
            + action_form("/actions/cancel", "Cancel", csrf, {"message_id": d["id"]}, danger=True),
        )
        for d in dead
    ]
    shown = ", ".join(f"{k} {v}" for k, v in filters.items() if v and k != "before")
    older = ""
    if more and dead:
        query = {k: v for k, v in filters.items() if v and k != "before"}
        href = "/dead?" + urlencode({**query, "before": dead[-1]["id"]})
        older = f'<p><a id="older" href="{h(href)}">Older</a></p>'
    audit = [
        (
            moment(a["at"], now),
            h(a["actor"]),
            h(a["action"]),
            link(a["message_id"]) if a["message_id"] else h(a["destination"]),
            h(a["detail"]),
            h(a["reason"]),
            h(a["affected"]),
        )
        for a in done
    ]
    return (
        "<h1>Dead letters</h1>"
        + notice(note)
        + _sign_in_hint(csrf)
        + table(
            "causes",
            "By destination and error code",
            ["destination", "error code", "messages", "first seen", "last seen", ""],
            cause_rows,
        )
        + table(
            "dead",
            "Dead letters" + (f" ({shown})" if shown else ", newest first"),
            ["id", "destination", "event", "code", "error", "attempts", "last attempt", ""],
            letters,
        )
        + older
        + table(
            "audit",
            "Recent operator actions",
            ["when", "who", "action", "message", "detail", "reason", "affected"],
            audit,
        )
    )


def find(q: str, results: Sequence[Row], now: datetime, *, searched: bool) -> str:
    shown = mask(q)  # an e-mail typed in is matched, never shown back in full
    rows = [_message_cells(r, now) for r in results]
    found = (
        table("results", f"{len(results)} message(s)", _MESSAGE_HEADERS, rows) if searched else ""
    )
    return (
        "<h1>Find a message</h1>"
        '<form method="get" action="/find" class="find">'
        f'<input name="q" value="{h(shown)}" autofocus size="40" '
        'placeholder="order number, e-mail, ordering key, correlation id, message id">'
        '<button type="submit">Find</button></form>' + found
    )


def message(
    m: Row,
    history: Sequence[Sequence[Any]],
    related: Sequence[Row],
    csrf: str | None,
    now: datetime,
    note: str | None,
) -> str:
    facts = [
        ("status", f'<span class="status {h(m["status"])}">{h(m["status"])}</span>'),
        ("destination", h(m["destination"])),
        ("event", h(m["event_type"])),
        ("published", moment(m["created_at"], now)),
        ("attempts", h(m["attempts"])),
        ("next attempt", moment(m["next_attempt_at"], now) if m["status"] == "retrying" else ""),
        ("delivered", moment(m["delivered_at"], now)),
        ("record at destination", h(m["destination_record_id"])),
        ("ordering key", h(m["ordering_key"])),
        ("correlation id", h(m["correlation_id"])),
        ("idempotency key", h(mask(m["idempotency_key"]))),
        ("last error", h(m["last_error_code"]) + " " + h(mask(m["last_error"] or ""))),
    ]
    dl = "".join(f"<dt>{h(k)}</dt><dd>{v}</dd>" for k, v in facts if v.strip())
    payload = mask(json.dumps(m["payload"], indent=2, ensure_ascii=False, sort_keys=True))
    acts = ""
    if m["status"] in ("dead", "cancelled"):
        acts += action_form("/actions/retry", "Retry", csrf, {"message_id": m["id"]})
    if m["status"] in ("pending", "retrying", "in_flight", "dead"):
        acts += action_form("/actions/cancel", "Cancel", csrf, {"message_id": m["id"]}, danger=True)
    life = [
        (
            moment(at, now),
            h(kind),
            h(number),
            h(worker),
            h(outcome),
            h(http),
            h(code),
            f'<span class="err">{h(mask(text or ""))}</span>',
            h(f"{ms:.0f}" if ms is not None else ""),
        )
        for at, kind, number, worker, outcome, http, code, text, ms, *_ in history
    ]
    return (
        f"<h1>Message {h(m['id'])}</h1>"
        + notice(note)
        + f'<dl id="facts">{dl}</dl>'
        + (f'<div id="actions">{acts}</div>' if acts else "")
        + _sign_in_hint(csrf)
        + table(
            "life",
            "Life: published, attempts, operator actions",
            ["when", "what", "#", "who", "outcome", "HTTP", "code", "message", "ms"],
            life,
        )
        + table(
            "related",
            "With it: live messages of its ordering key, and those of the same business action",
            [*_MESSAGE_HEADERS, "order"],
            [(*_message_cells(r, now), _relation(m, r)) for r in related],
        )
        + f'<h2>Payload</h2><pre id="payload">{h(payload)}</pre>'
    )


def mapped(message: MappedMessage | None, problem: str | None) -> str:
    """The request body the mapping in use makes of the payload now, personal fields masked."""
    if message is None:
        return f'<h2>Mapped now</h2><p class="refusal" id="mapped">{h(mask(problem or ""))}</p>'
    records = [
        {"object": r.object_name, "external_id": r.external_id, "fields": dict(r.fields)}
        for r in message.records
    ]
    text = mask(json.dumps(records, indent=2, ensure_ascii=False, default=str))
    return (
        f'<h2>Mapped now (mapping {h(message.version[:12])})</h2><pre id="mapped">{h(text)}</pre>'
    )


def login(next_path: str, problem: str | None, named: bool) -> str:
    name = '<label>Operator name <input name="name" required autocomplete="username"></label>'
    return (
        "<h1>Sign in to act</h1>"
        + (f'<p class="notice" id="problem">{h(problem)}</p>' if problem else "")
        + '<form method="post" action="/login" class="login">'
        + f'<input type="hidden" name="next" value="{h(next_path)}">'
        + name
        + '<label>Token <input name="token" type="password" required '
        'autocomplete="current-password"></label>'
        + '<button type="submit">Sign in</button></form>'
        + (
            "<p>Your name is the one in the daemon's user list.</p>"
            if named
            else "<p>Your name is recorded with every action you take.</p>"
        )
    )


_MESSAGE_HEADERS = [
    "id",
    "destination",
    "event",
    "status",
    "ordering key",
    "attempts",
    "code",
    "published",
]


def _message_cells(r: Row, now: datetime) -> tuple[str, ...]:
    return (
        link(r["id"]),
        h(r["destination"]),
        h(r["event_type"]),
        f'<span class="status {h(r["status"])}">{h(r["status"])}</span>',
        h(r["ordering_key"]),
        h(r["attempts"]),
        h(r["last_error_code"]),
        moment(r["created_at"], now),
    )


def _relation(m: Row, r: Row) -> str:
    """Whether a message of the same key goes before this one (blocks it) or waits behind it."""
    if r["destination"] != m["destination"] or r["ordering_key"] != m["ordering_key"]:
        return ""
    if r["status"] not in ("pending", "in_flight", "retrying"):
        return ""
    return "ahead: blocks it" if r["id"] < m["id"] else "behind: waits for it"


def _filter_link(destination: str, code: str | None) -> str:
    if code is None:
        return "(none)"
    query = urlencode({"destination": destination, "error_code": code})
    return f'<a href="/dead?{h(query)}">{h(code)}</a>'


def _sign_in_hint(csrf: str | None) -> str:
    if csrf is not None:
        return ""
    return '<p class="hint">Read only. <a href="/login">Sign in</a> to retry or cancel.</p>'
