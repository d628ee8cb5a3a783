"""The operator console's pages and actions: dead letters, search and a message's life.

Reads go through the daemon's pool, one short autocommit read per page, every one bounded and
indexed (``sql/queries/console.sql``). Actions call the audited SQL functions (``actions``).
Who may see and do what is ``access.Access``'s decision, made here before anything is read.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from dispatcher.mapping import Lookup, MappedMessage, MappingError
from dispatcher.ops import actions, pages
from dispatcher.ops.access import Access
from dispatcher.ops.html import CSP, frame, h
from outbox.queries import query

COOKIE = "outbox_console"
PAGE_SIZE = 50
FIND_LIMIT = 200
MAX_REASON = 500
MAX_FORM_BYTES = 16_384
Mapper = Callable[[str, str, dict[str, Any], Lookup], MappedMessage]
# What the preview answers for a catalog look-up (Id-shaped, as a reference field wants); the
# page says the value is read from the catalog when the message is sent.
LOOKED_UP = "000000000000000AAA"
Form = dict[str, str]


@dataclass(frozen=True)
class Viewer:
    operator: str | None
    csrf: str | None  # present when the viewer may act


class Console:
    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        access: Access,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        mapper: Mapper | None = None,
        db_timeout: float = 5.0,
    ) -> None:
        self.db_timeout = db_timeout
        self.pool = pool
        self.access = access
        self.clock = clock
        self.mapper = mapper  # the mapping in use now, for destinations that have one

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/dead", self.dead_page),
            Route("/find", self.find_page),
            Route("/messages/{message_id:int}", self.message_page),
            Route("/actions/retry", self.retry, methods=["POST"]),
            Route("/actions/retry-cause", self.retry_cause, methods=["POST"]),
            Route("/actions/cancel", self.cancel, methods=["POST"]),
            Route("/login", self.login_page, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
        ]

    # -- who is asking ---------------------------------------------------------------------

    def viewer(self, request: Request) -> Viewer | Response:
        """The viewer of a read-only page, or the response that turns them away."""
        cookie = request.cookies.get(COOKIE)
        operator = self.access.operator(cookie)
        if operator is not None and cookie is not None:
            return Viewer(operator, self.access.csrf_token(cookie))
        if self.access.open_views:
            return Viewer(None, None)
        if not self.access.configured:
            return refuse(403, self.access.refusal("This console, on a non-loopback address,"))
        return RedirectResponse(f"/login?{urlencode({'next': _here(request)})}", status_code=303)

    async def actor(self, request: Request, form: Form) -> str | Response:
        """The operator behind an action, or the refusal; the CSRF token is checked here."""
        if not self.access.configured:
            return refuse(403, self.access.refusal("Acting from the console"))
        if not _same_origin(request):
            return refuse(403, "Refused: the form was sent from another site.")
        cookie = request.cookies.get(COOKIE)
        operator = self.access.operator(cookie)
        if operator is None:
            return refuse(401, "Refused: sign in first at /login with your console token.")
        if not self.access.csrf_ok(cookie, _field(form, "csrf")):
            return refuse(
                403, "Refused: the form's CSRF token is missing or stale; reload the page."
            )
        return f"console:{operator}"

    # -- pages -----------------------------------------------------------------------------

    async def dead_page(self, request: Request) -> Response:
        viewer = self.viewer(request)
        if isinstance(viewer, Response):
            return viewer
        params = request.query_params
        filters = {
            "destination": params.get("destination") or None,
            "error_code": params.get("error_code") or None,
            "before": _int(params.get("before")),
        }
        async with self.pool.connection(timeout=self.db_timeout) as conn:
            causes = await _rows(conn, "console_dead_causes", {"limit": 200})
            dead = await _rows(conn, "console_dead_page", {**filters, "limit": PAGE_SIZE + 1})
            done = await _rows(conn, "console_actions", {"limit": 20})
        body = pages.dead_letters(
            causes,
            dead[:PAGE_SIZE],
            done,
            filters,
            viewer.csrf,
            self.clock(),
            more=len(dead) > PAGE_SIZE,
            note=params.get("notice"),
        )
        return page("Dead letters", body, viewer, "/dead")

    async def find_page(self, request: Request) -> Response:
        viewer = self.viewer(request)
        if isinstance(viewer, Response):
            return viewer
        q = (request.query_params.get("q") or "").strip()[:200]
        results: list[dict[str, Any]] = []
        if q:
            async with self.pool.connection(timeout=self.db_timeout) as conn:
                results = await _rows(
                    conn, "console_find", {**search_terms(q), "limit": FIND_LIMIT}
                )
        body = pages.find(q, results, self.clock(), searched=bool(q))
        return page("Find", body, viewer, "/find")

    async def message_page(self, request: Request) -> Response:
        viewer = self.viewer(request)
        if isinstance(viewer, Response):
            return viewer
        message_id = int(request.path_params["message_id"])
        async with self.pool.connection(timeout=self.db_timeout) as conn:
            found = await _rows(conn, "console_message", {"message_id": message_id})
            if not found:
                return refuse(404, f"There is no message {message_id}. Find one at /find.")
            m = found[0]
            cursor = await conn.execute(query("message_history"), {"message_id": message_id})
            history = await cursor.fetchall()
            related = await _rows(
                conn,
                "console_related",
                {
                    "message_id": message_id,
                    "destination": m["destination"],
                    "ordering_key": m["ordering_key"],
                    "correlation_id": m["correlation_id"],
                    "limit": 100,
                },
            )
        note = request.query_params.get("notice")
        body = pages.message(m, history, related, viewer.csrf, self.clock(), note)
        body += self.mapped_now(m)
        return page(f"Message {message_id}", body, viewer, "/find")

    def mapped_now(self, m: dict[str, Any]) -> str:
        """The records the message would be written as if it were sent now, or why it cannot."""
        if self.mapper is None or m["destination"] not in ("salesforce", "thinkific"):
            return ""
        try:
            mapped = self.mapper(
                m["destination"], m["event_type"], m["payload"], lambda table, key: LOOKED_UP
            )
        except MappingError as exc:
            return pages.mapped(None, str(exc))
        return pages.mapped(mapped, None).replace(LOOKED_UP, "(from the catalog when sent)")

    # -- actions ---------------------------------------------------------------------------

    async def retry(self, request: Request) -> Response:
        return await self._act(request, "message", self._retry)

    async def retry_cause(self, request: Request) -> Response:
        return await self._act(request, "cause", self._retry_cause)

    async def cancel(self, request: Request) -> Response:
        return await self._act(request, "message", self._cancel)

    async def _retry(self, form: Form, reason: str, actor: str) -> actions.Done | str:
        message_id = _int(_field(form, "message_id"))
        if message_id is None:
            return "say which message: message_id must be a number"
        async with self.pool.connection(timeout=self.db_timeout) as conn:
            return await actions.retry(conn, message_id, reason, actor)

    async def _cancel(self, form: Form, reason: str, actor: str) -> actions.Done | str:
        message_id = _int(_field(form, "message_id"))
        if message_id is None:
            return "say which message: message_id must be a number"
        async with self.pool.connection(timeout=self.db_timeout) as conn:
            return await actions.cancel(conn, message_id, reason, actor)

    async def _retry_cause(self, form: Form, reason: str, actor: str) -> actions.Done | str:
        destination, code = _field(form, "destination"), _field(form, "error_code")
        if not destination or not code:
            return "say which cause: a destination and an error code"
        async with self.pool.connection(timeout=self.db_timeout) as conn:
            return await actions.retry_cause(conn, destination, code, reason, actor)

    async def _act(
        self,
        request: Request,
        kind: str,
        do: Callable[[Form, str, str], Any],
    ) -> Response:
        form = await read_form(request)
        if form is None:
            return refuse(415, "Send the action as an HTML form (urlencoded), under 16 KB.")
        actor = await self.actor(request, form)
        if isinstance(actor, Response):
            return actor
        reason = " ".join((_field(form, "reason") or "").split())
        if len(reason) < 3 or len(reason) > MAX_REASON:
            return refuse(400, f"Say why, in 3 to {MAX_REASON} characters: it goes in the audit.")
        done = await do(form, reason, actor)
        if isinstance(done, str):
            return refuse(400, f"Refused: {done}.")
        message_id = _int(_field(form, "message_id"))
        target = f"/messages/{message_id}" if kind == "message" and message_id else "/dead"
        return RedirectResponse(f"{target}?{urlencode({'notice': done.text})}", status_code=303)

    # -- sessions --------------------------------------------------------------------------

    async def login_page(self, request: Request) -> Response:
        if not self.access.configured:
            return refuse(403, self.access.refusal("Signing in"))
        next_path = _local(request.query_params.get("next"))
        body = pages.login(next_path, None, named=bool(self.access.users))
        return page("Sign in", body, Viewer(None, None), "/login")

    async def login(self, request: Request) -> Response:
        if not self.access.configured:
            return refuse(403, self.access.refusal("Signing in"))
        if not _same_origin(request):
            return refuse(403, "Refused: the form was sent from another site.")
        form = await read_form(request) or {}
        next_path = _local(_field(form, "next"))
        cookie = self.access.sign_in(_field(form, "name") or "", _field(form, "token") or "")
        if cookie is None:
            body = pages.login(next_path, "Wrong name or token.", named=bool(self.access.users))
            return page("Sign in", body, Viewer(None, None), "/login", status=401)
        response = RedirectResponse(next_path, status_code=303)
        response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict", path="/")
        return response

    async def logout(self, request: Request) -> Response:
        if not _same_origin(request):
            return refuse(403, "Refused: the form was sent from another site.")
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response


def search_terms(q: str) -> dict[str, Any]:
    """What one search box can mean: a message id, a correlation id, an order, an e-mail, a key."""
    try:
        correlation: str | None = str(uuid.UUID(q))
    except ValueError:
        correlation = None
    return {
        "text": q,
        "message_id": int(q) if q.isdigit() and len(q) < 19 else None,
        "uuid": correlation,
        "order_number": q.removeprefix("order:"),
    }


def page(
    title: str,
    body: str,
    viewer: Viewer,
    path: str,
    status: int = 200,
    refresh: int | None = None,
) -> HTMLResponse:
    html = frame(title, body, operator=viewer.operator, path=path, refresh=refresh)
    response = HTMLResponse(html, status)
    secure(response)
    return response


def refuse(status: int, text: str) -> HTMLResponse:
    body = (
        f'<h1>Not done</h1><p class="refusal" id="refusal">{h(text)}</p><p><a href="/">Back</a></p>'
    )
    response = HTMLResponse(frame("Refused", body, operator=None, path=""), status)
    secure(response)
    return response


def secure(response: Response) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"


async def _rows(
    conn: psycopg.AsyncConnection[Any], name: str, params: dict[str, Any]
) -> list[dict[str, Any]]:
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(query(name), params)
    return await cursor.fetchall()


def _same_origin(request: Request) -> bool:
    """A browser names the page a form came from; refuse one from elsewhere."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host")


async def read_form(request: Request) -> Form | None:
    """An urlencoded form body, the only kind the console's pages send; None for anything else."""
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind != "application/x-www-form-urlencoded":
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        return dict(parse_qsl(body.decode(), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        return None


def _field(form: Form, name: str) -> str | None:
    return form.get(name)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 19 else None


def _here(request: Request) -> str:
    query_string = request.url.query
    return request.url.path + (f"?{query_string}" if query_string else "")


def _local(path: str | None) -> str:
    """Only a path on this server: never send a signed-in browser elsewhere."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path
