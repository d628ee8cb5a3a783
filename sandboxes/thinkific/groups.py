"""``/groups`` and ``/group_users``: how an organisation's people are gathered on the site
(OpenAPI ``GroupRequest``, ``GroupResponse``, ``CreateGroupUsersRequest``). There is no group
enrollment in v1; each member is enrolled on their own (API-NOTES §2.4)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandboxes.thinkific.pagination import paged
from sandboxes.thinkific.state import SandboxState, state_of
from sandboxes.thinkific.store import Group
from sandboxes.thinkific.users import TAKEN
from sandboxes.thinkific.wire import (
    RECORD_NOT_FOUND,
    blank,
    error,
    field_errors,
    iso,
    message_errors,
    no_content,
    not_found,
    read_body,
)

INVALID_GROUP_NAMES = "Invalid group_names"


class GroupRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str | None = None


class GroupUsersRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    user_id: int | None = None
    group_names: list[str] | None = None


def group_json(group: Group) -> dict[str, Any]:
    return {
        "id": group.id,
        "name": group.name,
        "token": group.token,
        "created_at": iso(group.created_at),
    }


async def list_groups(request: Request) -> Response:
    state = state_of(request)
    rows = [group_json(g) for g in state.store.rows(state.store.groups)]
    return paged(request, rows)


async def create_group(request: Request) -> Response:
    """200, not 201, as the spec documents for ``POST /groups``.

    A second group of the same name, ignoring case, is refused as taken (assumed, as a Rails
    ``uniqueness: {case_sensitive: false}`` check answers): clients look groups up by name, so
    two of one name would make membership ambiguous. ``POST /group_users`` still matches
    ``group_names`` exactly, so ``northgate clinic`` is neither a new group nor a member's
    group when ``Northgate Clinic`` exists: a client must use the site's spelling.
    """
    state = state_of(request)
    body = await read_body(request, GroupRequest)
    if isinstance(body, Response):
        return body
    name = (body.name or "").strip()
    if not name:
        return field_errors(blank(name=None))
    if state.store.group_named_like(name) is not None:
        return field_errors({"name": [TAKEN]})
    group = Group(state.store.next_id("group"), name, _token(state), state.now())
    state.store.groups[group.id] = group
    return JSONResponse(group_json(group))


async def get_group(request: Request) -> Response:
    """The 404 here follows this path's own documented example, ``{"error":["Record not
    found."]}`` (an array), not the plain ``ErrorNotFound`` string of other paths."""
    group = state_of(request).store.groups.get(request.path_params["id"])
    if group is None:
        return error(404, [RECORD_NOT_FOUND])
    return JSONResponse(group_json(group))


async def add_group_users(request: Request) -> Response:
    """201 with no body once the user is in every named group; names must all exist."""
    state = state_of(request)
    body = await read_body(request, GroupUsersRequest)
    if isinstance(body, Response):
        return body
    problems = blank(user_id=body.user_id, group_names=body.group_names or None)
    if problems:
        return field_errors(problems)
    user = state.store.users.get(body.user_id or 0)
    if user is None:
        return not_found()  # assumed: the generic ErrorNotFound; no source shows this case
    found = [state.store.group_by_name(name) for name in body.group_names or []]
    chosen = {group.id for group in found if group is not None}
    if len(chosen) < len(set(body.group_names or [])):
        return message_errors([INVALID_GROUP_NAMES])
    state.store.memberships |= {(group_id, user.id) for group_id in chosen}
    return no_content(201)


def _token(state: SandboxState) -> str:
    """The 8-character group token (``GroupResponse.token``, e.g. ``c2395613``)."""
    taken = {g.token for g in state.store.groups.values()}
    while (token := f"{state.rng.getrandbits(32):08x}") in taken:
        pass
    return token


ROUTES = [
    Route("/groups", list_groups, methods=["GET"]),
    Route("/groups", create_group, methods=["POST"]),
    Route("/groups/{id:int}", get_group, methods=["GET"]),
    Route("/group_users", add_group_users, methods=["POST"]),
]
