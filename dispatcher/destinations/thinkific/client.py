"""The Thinkific Admin API calls the destination makes, each paced by the shared budget.

Every call takes a grant and an in-flight slot first (``SiteBudget.request``), lets the budget
read the answer's rate-limit headers, and turns a non-2xx answer into the classified error of
``errors.error_for``. Paths and shapes are the OpenAPI's (Thinkific Admin API, API-NOTES §2).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from dispatcher.core.errors import RetryableError
from dispatcher.destinations.http import error_for_exception
from dispatcher.destinations.thinkific.budget import SiteBudget
from dispatcher.destinations.thinkific.refusals import error_for
from dispatcher.mapping import organisation_key

PAGE_LIMIT = 250  # the largest page the list endpoints give (API-NOTES §2.1)
# The OpenAPI declares no property nullable, so an expiry cannot be cleared with null: an
# enrollment that must stop expiring is given the latest date-time the format can hold, and
# an expiry read back at or past it means "never expires".
NEVER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class FoundEnrollment:
    """The parts of an ``EnrollmentResponse`` that decide whether to update it."""

    id: int
    course_id: int
    activated_at: datetime | None
    expiry_date: datetime | None
    expired: bool


class ThinkificClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        headers: Mapping[str, str],
        budget: SiteBudget,
        *,
        timeout: float,
    ) -> None:
        self._http = http
        self._base = base_url
        self._headers = dict(headers)
        self._budget = budget
        self._timeout = timeout
        self.calls: Counter[str] = Counter()  # by "METHOD /path", for logs and benchmarks

    async def find_user(self, email: str) -> int | None:
        """``GET /users?query[email]=``: the id of the user with this e-mail, if any."""
        body = await self._call("GET", "/users", params={"query[email]": email, "limit": 2})
        wanted = email.casefold()
        for item in _items(body):
            if str(item.get("email", "")).casefold() == wanted:
                return int(item["id"])
        return None

    async def create_user(self, fields: Mapping[str, Any]) -> int:
        """``POST /users`` (``CreateUserRequest``) answers 201 with a ``UserResponse``."""
        body = await self._call("POST", "/users", json=present(fields))
        return int(body["id"])

    async def update_user(self, user_id: int, fields: Mapping[str, Any]) -> None:
        """``PUT /users/{id}`` (``UpdateUserRequest``, every field optional) answers 204; a
        field left out stays as the site has it."""
        await self._call("PUT", f"/users/{user_id}", json=present(fields))

    async def enrollments(self, user_id: int, course_id: int) -> list[FoundEnrollment]:
        """``GET /enrollments?query[user_id]=&query[course_id]=``, filtered by course here: the
        site's course filter is reported to let other courses through (API-NOTES §2.3)."""
        params = {"query[user_id]": user_id, "query[course_id]": course_id, "limit": PAGE_LIMIT}
        body = await self._call("GET", "/enrollments", params=params)
        return [
            _enrollment(item)
            for item in _items(body)
            if int(item.get("course_id", 0)) == course_id and int(item.get("user_id", 0)) == user_id
        ]

    async def create_enrollment(self, fields: Mapping[str, Any]) -> int:
        """``POST /enrollments`` (``CreateEnrollmentRequest``) answers 201 with the enrollment."""
        body = await self._call("POST", "/enrollments", json=present(fields))
        return int(body["id"])

    async def update_enrollment(self, enrollment_id: int, fields: Mapping[str, Any]) -> None:
        """``PUT /enrollments/{id}`` (``UpdateEnrollmentRequest``): 204 by the spec, 200 with
        an empty body as reported; both are success."""
        await self._call("PUT", f"/enrollments/{enrollment_id}", json=present(fields))

    async def create_group(self, name: str) -> None:
        """``POST /groups`` (``GroupRequest``) answers 200 with a ``GroupResponse``."""
        await self._call("POST", "/groups", json={"name": name})

    async def find_group(self, key: str) -> str | None:
        """The site's spelling of the group whose name has this ``organisation_key``, if any:
        ``GET /groups`` page by page (the API has no filter by name)."""
        page: int | None = 1
        while page is not None:
            body = await self._call("GET", "/groups", params={"page": page, "limit": PAGE_LIMIT})
            for item in _items(body):
                name = item.get("name")
                if isinstance(name, str) and organisation_key(name) == key:
                    return name
            page = _next_page(body)
        return None

    async def add_to_group(self, user_id: int, group_name: str) -> None:
        """``POST /group_users`` (``CreateGroupUsersRequest``) adds a user to groups by name."""
        await self._call(
            "POST", "/group_users", json={"user_id": user_id, "group_names": [group_name]}
        )

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One paced request; the decoded JSON object of a 2xx answer (empty for no body)."""
        async with self._budget.request():
            self.calls[f"{method} {path.rsplit('/', 1)[0] if path[-1].isdigit() else path}"] += 1
            try:
                response = await self._http.request(
                    method,
                    self._base + path,
                    headers=self._headers,
                    timeout=self._timeout,
                    **kwargs,
                )
            except httpx.HTTPError as exc:
                raise error_for_exception(exc) from exc
        self._budget.observe(response)
        if not response.is_success:
            raise error_for(response)
        if not response.content.strip():
            return {}
        try:
            body = response.json()
        except ValueError as exc:
            raise RetryableError(f"HTTP {response.status_code}: not JSON", code="BAD_BODY") from exc
        return body if isinstance(body, dict) else {}


def present(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A request body without its unset properties: no property of the OpenAPI is nullable,
    so a value we do not have is left out rather than sent as null."""
    return {key: value for key, value in fields.items() if value is not None}


def _next_page(body: Mapping[str, Any]) -> int | None:
    """``meta.pagination.next_page``, null on the last page (API-NOTES §2.1)."""
    meta = body.get("meta")
    pagination = meta.get("pagination") if isinstance(meta, dict) else None
    following = pagination.get("next_page") if isinstance(pagination, dict) else None
    return int(following) if isinstance(following, int | float) and following > 0 else None


def _items(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A list answer's ``items`` (``{"items": [...], "meta": {...}}``, API-NOTES §2.1)."""
    items = body.get("items")
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _enrollment(item: Mapping[str, Any]) -> FoundEnrollment:
    """From an ``EnrollmentResponse``."""
    return FoundEnrollment(
        id=int(item["id"]),
        course_id=int(item["course_id"]),
        activated_at=parse_time(item.get("activated_at")),
        expiry_date=expiry_of(item.get("expiry_date")),
        expired=bool(item.get("expired")),
    )


def expiry_of(value: Any) -> datetime | None:
    """An ``expiry_date`` read back; None when it never expires (absent, or ``NEVER``)."""
    moment = parse_time(value)
    return None if moment is None or moment >= NEVER else moment


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 (``YYYY-MM-DDTHH:MM:SSZ``, API-NOTES §2.1) as an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
