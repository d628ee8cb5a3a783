"""``/users``: create, list with filters, get, update and delete (OpenAPI ``/users``,
``/users/{id}``; ``CreateUserRequest``, ``UpdateUserRequest``, ``UserResponse``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandboxes.thinkific.contract import INVALID
from sandboxes.thinkific.pagination import paged
from sandboxes.thinkific.state import SandboxState, state_of
from sandboxes.thinkific.store import ProfileValue, User
from sandboxes.thinkific.wire import (
    blank,
    created,
    field_errors,
    iso,
    no_content,
    not_found,
    read_body,
)

Role = Literal["affiliate", "course_admin", "group_analyst", "site_admin"]
Provider = Literal["SSO", "OPENID_CONNECT"]
# Rails' stock wording for these checks; Thinkific's own is not shown by any source.
TAKEN = "has already been taken"
TOO_SHORT = "is too short (minimum is 6 characters)"


class ProfileFieldIn(BaseModel):
    """``CustomProfileFieldRequest``; an update may also echo ``CustomProfileField`` keys."""

    model_config = ConfigDict(extra="ignore")
    custom_profile_field_definition_id: int
    value: str | None = None


class UserFields(BaseModel):
    """The fields ``CreateUserRequest`` and ``UpdateUserRequest`` share, all optional here so
    that a missing required one is answered in Thinkific's words, not pydantic's."""

    model_config = ConfigDict(extra="ignore")
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    password: str | None = None
    roles: list[Role] | None = None
    bio: str | None = None
    company: str | None = None
    headline: str | None = None
    affiliate_code: str | None = None
    affiliate_commission: float | None = None
    affiliate_commission_type: Literal["%", "$"] | None = None
    affiliate_payout_email: str | None = None
    custom_profile_fields: list[ProfileFieldIn] | None = None


class CreateUser(UserFields):
    skip_custom_fields_validation: bool = False
    send_welcome_email: bool = False
    external_id: str | None = None
    provider: Provider | None = None  # 2023 changelog: create user with external id and provider


class UpdateUser(UserFields):
    avatar_url: str | None = None
    external_source: str | None = None


def user_json(state: SandboxState, user: User) -> dict[str, Any]:
    labels = state.catalog.profile_fields
    return {
        "id": user.id,
        "created_at": iso(user.created_at),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "full_name": user.full_name,
        "company": user.company,
        "email": user.email,
        "roles": list(user.roles),
        "avatar_url": user.avatar_url,
        "bio": user.bio,
        "headline": user.headline,
        "affiliate_code": user.affiliate_code,
        "affiliate_commission": user.affiliate_commission,
        "affiliate_commission_type": user.affiliate_commission_type,
        "affiliate_payout_email": user.affiliate_payout_email,
        "external_source": user.external_source,
        "administered_course_ids": [],
        "custom_profile_fields": [
            {
                "id": value.id,
                "value": value.value,
                "label": labels[value.definition_id].label,
                "custom_profile_field_definition_id": value.definition_id,
            }
            for value in user.profile
        ],
    }


def find_user(state: SandboxState, request: Request) -> User | None:
    """By Thinkific id, or by external id when ``provider`` is given (OpenAPI ``/users/{id}``)."""
    key = str(request.path_params["id"])
    provider = request.query_params.get("provider")
    if provider:
        return state.store.user_by_external_id(key, provider)
    return state.store.users.get(int(key)) if key.isdigit() else None


async def create_user(request: Request) -> Response:
    state = state_of(request)
    body = await read_body(request, CreateUser)
    if isinstance(body, Response):
        return body
    problems = blank(first_name=body.first_name, last_name=body.last_name, email=body.email)
    problems |= _problems(state, body, None)
    if problems:
        return field_errors(problems)
    store = state.store
    user = User(
        id=store.next_id("user"), created_at=state.now(),
        first_name=body.first_name or "", last_name=body.last_name or "",
        email=(body.email or "").strip(), external_id=body.external_id, provider=body.provider,
        has_password=body.password is not None,
    )  # fmt: skip
    user = store.put_user(_apply(state, user, body))
    return created(user_json(state, user))


async def list_users(request: Request) -> Response:
    state = state_of(request)
    query = request.query_params
    users = [u for u in state.store.rows(state.store.users) if _matches(state, u, query)]
    return paged(request, [user_json(state, u) for u in users])


async def get_user(request: Request) -> Response:
    state = state_of(request)
    user = find_user(state, request)
    return not_found() if user is None else JSONResponse(user_json(state, user))


async def update_user(request: Request) -> Response:
    """``PUT /users/{id}`` answers 204 with no body (OpenAPI)."""
    state = state_of(request)
    user = find_user(state, request)
    if user is None:
        return not_found()
    body = await read_body(request, UpdateUser)
    if isinstance(body, Response):
        return body
    sent = body.model_dump(exclude_unset=True)
    problems = blank(**{k: sent[k] for k in ("first_name", "last_name", "email") if k in sent})
    problems |= _problems(state, body, user.id)
    if problems:
        return field_errors(problems)
    extra = {k: sent[k] for k in ("avatar_url", "external_source") if k in sent}
    state.store.put_user(replace(_apply(state, user, body), **extra))
    return no_content()


async def delete_user(request: Request) -> Response:
    state = state_of(request)
    user = find_user(state, request)
    if user is None:
        return not_found()
    state.store.delete_user(user.id)
    return no_content()


def _problems(state: SandboxState, body: UserFields, user_id: int | None) -> dict[str, list[str]]:
    """Format, uniqueness and reference checks; the duplicate e-mail answer is the assumed
    ``{"errors":{"email":["has already been taken"]}}`` of API-NOTES §2.2."""
    problems: dict[str, list[str]] = {}
    email = (body.email or "").strip()
    if email and ("@" not in email or " " in email):
        problems["email"] = [INVALID]
    elif email and (other := state.store.user_by_email(email)) and other.id != user_id:
        problems["email"] = [TAKEN]
    if body.password is not None and len(body.password) < 6:
        problems["password"] = [TOO_SHORT]
    known = state.catalog.profile_fields
    if any(
        f.custom_profile_field_definition_id not in known for f in body.custom_profile_fields or []
    ):
        problems["custom_profile_fields"] = [INVALID]
    return problems


def _apply(state: SandboxState, user: User, body: UserFields) -> User:
    """The sent fields over the user's current ones; a field left out stays as it was."""
    sent = body.model_dump(exclude_unset=True, exclude={"custom_profile_fields", "password"})
    plain = {k: v for k, v in sent.items() if k in User.__dataclass_fields__ and k != "external_id"}
    if "roles" in plain:
        plain["roles"] = tuple(plain["roles"] or ())
    if "email" in plain:
        plain["email"] = (plain["email"] or "").strip()
    user = replace(user, **{k: v for k, v in plain.items() if k != "provider"})
    if body.password is not None:
        user = replace(user, has_password=True)
    if body.custom_profile_fields is not None:
        user = replace(user, profile=_profile(state, user, body.custom_profile_fields))
    return user


def _profile(
    state: SandboxState, user: User, sent: list[ProfileFieldIn]
) -> tuple[ProfileValue, ...]:
    current = {v.definition_id: v for v in user.profile}
    for field in sent:
        definition = field.custom_profile_field_definition_id
        kept = current.get(definition)
        value_id = kept.id if kept else state.store.next_id("profile_value")
        current[definition] = ProfileValue(value_id, definition, field.value)
    return tuple(current[k] for k in sorted(current))


def _matches(state: SandboxState, user: User, query: Any) -> bool:
    """The ``GET /users`` filters; e-mail is an exact, case-insensitive match (API-NOTES §2.7)."""
    email = query.get("query[email]")
    if email is not None and user.email.casefold() != email.strip().casefold():
        return False
    role = query.get("query[role]")
    if role is not None and role not in user.roles:
        return False
    source = query.get("query[external_source]")
    if source is not None and user.external_source != source:
        return False
    group = query.get("query[group_id]")
    if group is not None and not (
        group.isdigit() and int(group) in state.store.group_ids_of(user.id)
    ):
        return False
    return _profile_matches(state, user, query)


def _profile_matches(state: SandboxState, user: User, query: Any) -> bool:
    """Label and value filter together; either one alone filters nothing (OpenAPI: "must be
    combined")."""
    label = query.get("query[custom_profile_field_label]")
    value = query.get("query[custom_profile_field_value]")
    if label is None or value is None:
        return True
    labels = state.catalog.profile_fields
    return any(labels[v.definition_id].label == label and v.value == value for v in user.profile)


ROUTES = [
    Route("/users", list_users, methods=["GET"]),
    Route("/users", create_user, methods=["POST"]),
    Route("/users/{id}", get_user, methods=["GET"]),
    Route("/users/{id}", update_user, methods=["PUT"]),
    Route("/users/{id}", delete_user, methods=["DELETE"]),
]
