"""Small pieces of the console's server-rendered HTML: the frame, tables, times, forms.

Every value is escaped here or by the caller's ``h``; nothing from the database reaches a page
unescaped. Pages load one stylesheet and one script from ``/static`` (shipped in the wheel), so
the Content-Security-Policy can forbid inline code and anything from another origin.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape
from typing import Any

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_HERE = ' class="here"'
NAV = (("/", "At a glance"), ("/dead", "Dead letters"), ("/find", "Find"))


def h(value: Any) -> str:
    return escape("" if value is None else str(value))


def frame(
    title: str, body: str, *, operator: str | None, refresh: int | None = None, path: str = "/"
) -> str:
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    links = "".join(
        f'<a href="{href}"{_HERE if href == path else ""}>{h(label)}</a>' for href, label in NAV
    )
    who = (
        f'<form method="post" action="/logout" class="who">{h(operator)} '
        f'<button type="submit">Sign out</button></form>'
        if operator
        else f'<a class="who" href="/login?next={h(path)}">Sign in to act</a>'
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">{meta}
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{h(title)}</title>
<link rel="stylesheet" href="/static/console.css">
<script src="/static/console.js" defer></script>
</head>
<body><nav>{links}{who}</nav>
{body}
</body></html>"""


def ago(when: datetime | None, now: datetime) -> str:
    """'3 min ago', 'in 20 s': what a person reads at a glance."""
    if when is None:
        return ""
    seconds = (now - when).total_seconds()
    future, seconds = seconds < 0, abs(seconds)
    if seconds < 60:
        text = f"{seconds:.0f} s"
    elif seconds < 3600:
        text = f"{seconds // 60:.0f} min"
    elif seconds < 86400:
        text = f"{seconds / 3600:.1f} h".replace(".0 h", " h")
    else:
        text = f"{seconds / 86400:.0f} d"
    return f"in {text}" if future else f"{text} ago"


def moment(when: datetime | None, now: datetime) -> str:
    """A human time; the exact UTC instant on hover (the script shows it in local time)."""
    if when is None:
        return ""
    exact = when.isoformat(timespec="seconds")
    return f'<time datetime="{h(exact)}" title="{h(exact)}">{h(ago(when, now))}</time>'


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def table(ident: str, caption: str, headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table of cells that are already HTML (escaped by the caller)."""
    head = "".join(f"<th>{h(x)}</th>" for x in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    body = body or f'<tr><td colspan="{len(headers)}">none</td></tr>'
    return (
        f'<table id="{h(ident)}"><caption>{h(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def action_form(
    action: str, label: str, csrf: str | None, hidden: dict[str, Any], *, danger: bool = False
) -> str:
    """A form that asks for a reason; without a session it is a sign-in link instead."""
    if csrf is None:
        return ""
    fields = "".join(
        f'<input type="hidden" name="{h(k)}" value="{h(v)}">' for k, v in hidden.items()
    )
    kind = " danger" if danger else ""
    return (
        f'<form method="post" action="{h(action)}" class="act{kind}">'
        f'<input type="hidden" name="csrf" value="{h(csrf)}">{fields}'
        f'<input name="reason" required minlength="3" placeholder="reason (kept in the audit)">'
        f'<button type="submit">{h(label)}</button></form>'
    )


def link(message_id: Any) -> str:
    return f'<a href="/messages/{h(message_id)}">{h(message_id)}</a>'


def notice(text: str | None) -> str:
    return f'<p class="notice" id="notice">{h(text)}</p>' if text else ""
