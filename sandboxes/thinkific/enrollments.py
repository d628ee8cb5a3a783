"""``/enrollments``: create, list with filters, get and update (OpenAPI ``/enrollments``,
``/enrollments/{id}``; ``CreateEnrollmentRequest``, ``UpdateEnrollmentRequest``,
``EnrollmentResponse``). There is no DELETE; access ends by moving ``expiry_date``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandboxes.thinkific.pagination import paged
from sandboxes.thinkific.state import SandboxState, state_of
from sandboxes.thinkific.store import Enrollment
from sandboxes.thinkific.wire import (
    created,
    iso,
    message_errors,
    no_content,
    not_found,
    read_body,
)

COURSE_NOT_FOUND = "Course could not be found."
USER_NOT_FOUND = "User could not be found."
# Undocumented; the assumed answer of API-NOTES §2.3, so a client's look-up-first path is used.
ALREADY_ENROLLED = "User is already enrolled in this course"


class EnrollmentDates(BaseModel):
    """``UpdateEnrollmentRequest``; a time without a zone is taken as UTC."""

    model_config = ConfigDict(extra="ignore")
    activated_at: datetime | None = None
    expiry_date: datetime | None = None

    @field_validator("activated_at", "expiry_date")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class CreateEnrollment(EnrollmentDates):
    """``CreateEnrollmentRequest``."""

    course_id: int | None = None
    user_id: int | None = None


def enrollment_json(state: SandboxState, enrollment: Enrollment) -> dict[str, Any]:
    user = state.store.users[enrollment.user_id]
    course = state.catalog.courses[enrollment.course_id]
    return {
        "id": enrollment.id,
        "user_email": user.email,
        "user_name": user.full_name,
        "user_id": user.id,
        "course_name": course.name,
        "course_id": course.id,
        "percentage_completed": enrollment.percentage_completed,
        "expired": enrollment.expired(state.now()),
        "is_free_trial": enrollment.activated_at is None,
        "completed": enrollment.completed_at is not None,
        "started_at": iso(enrollment.started_at),
        "activated_at": iso(enrollment.activated_at),
        "completed_at": iso(enrollment.completed_at),
        "updated_at": iso(enrollment.updated_at),
        "expiry_date": iso(enrollment.expiry_date),
    }


def enroll(state: SandboxState, user_id: int, course_id: int, dates: EnrollmentDates) -> Enrollment:
    """A new enrollment; without ``activated_at`` it is a free trial (preview content only).

    ``started_at`` is set when the enrollment is made: the spec requires it and gives no rule.
    """
    now = state.now()
    store = state.store
    return store.add_enrollment(
        Enrollment(
            id=store.next_id("enrollment"), user_id=user_id, course_id=course_id,
            created_at=now, updated_at=now, started_at=now,
            activated_at=dates.activated_at, expiry_date=dates.expiry_date,
        )
    )  # fmt: skip


def redate(state: SandboxState, enrollment: Enrollment, dates: EnrollmentDates) -> Enrollment:
    """Apply the dates that were sent; one left out stays as it is. A null never gets here: the
    contract has no nullable property, so ``read_body`` refused it."""
    sent = dates.model_dump(exclude_unset=True, include={"activated_at", "expiry_date"})
    return state.store.update_enrollment(enrollment, updated_at=state.now(), **sent)


async def create_enrollment(request: Request) -> Response:
    state = state_of(request)
    body = await read_body(request, CreateEnrollment)
    if isinstance(body, Response):
        return body
    course = state.catalog.courses.get(body.course_id or 0)
    user = state.store.users.get(body.user_id or 0)
    if course is None or user is None:
        found = ((COURSE_NOT_FOUND, course), (USER_NOT_FOUND, user))
        return message_errors([message for message, record in found if record is None])
    if state.store.enrollment_of(user.id, course.id) is not None:
        return message_errors([ALREADY_ENROLLED])
    enrollment = enroll(state, user.id, course.id, body)
    return created(enrollment_json(state, enrollment))


async def list_enrollments(request: Request) -> Response:
    state = state_of(request)
    rows = select(state, state.store.enrollments.values(), request.query_params)
    return paged(request, rows)


async def get_enrollment(request: Request) -> Response:
    state = state_of(request)
    enrollment = state.store.enrollments.get(request.path_params["id"])
    return not_found() if enrollment is None else JSONResponse(enrollment_json(state, enrollment))


async def update_enrollment(request: Request) -> Response:
    """204 as the spec says, or 200 with an empty body as one client reports (settings)."""
    state = state_of(request)
    enrollment = state.store.enrollments.get(request.path_params["id"])
    if enrollment is None:
        return not_found()
    body = await read_body(request, EnrollmentDates)
    if isinstance(body, Response):
        return body
    redate(state, enrollment, body)
    return no_content(state.settings.enrollment_put_status)


def select(
    state: SandboxState, enrollments: Iterable[Enrollment], query: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The enrollments that pass every filter in ``query``, as JSON, in id order."""
    now = state.now()
    tests = _filters(state, query, now)
    chosen = [e for e in enrollments if all(test(e) for test in tests)]
    return [enrollment_json(state, e) for e in sorted(chosen, key=lambda e: e.id)]


Test = Callable[[Enrollment], bool]


def _filters(state: SandboxState, query: Mapping[str, str], now: datetime) -> list[Test]:
    tests: list[Test] = []
    if (user_id := query.get("query[user_id]")) is not None:
        tests.append(lambda e: str(e.user_id) == user_id)
    if (course_id := query.get("query[course_id]")) is not None:
        tests.append(_course_filter(state, course_id))
    if (email := query.get("query[email]")) is not None:
        wanted = email.strip().casefold()
        tests.append(lambda e: state.store.users[e.user_id].email.casefold() == wanted)
    flags: dict[str, Test] = {
        "free_trial": lambda e: e.activated_at is None,
        "full": lambda e: e.activated_at is not None,
        "completed": lambda e: e.completed_at is not None,
        "expired": lambda e: e.expired(now),
    }
    tests += [test for name, test in flags.items() if query.get(f"query[{name}]") == "true"]
    return tests + _date_filters(query)


def _course_filter(state: SandboxState, course_id: str) -> Test:
    """Exact by default. With ``cross_course_quirk`` every enrollment of a user who is in the
    course matches, as reported of the real filter (API-NOTES §2.3, migratelms.com)."""
    if not state.settings.cross_course_quirk:
        return lambda e: str(e.course_id) == course_id
    members = {e.user_id for e in state.store.enrollments.values() if str(e.course_id) == course_id}
    return lambda e: e.user_id in members


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "on": lambda a, b: a == b,
    "before": lambda a, b: a < b,
    "on_or_before": lambda a, b: a <= b,
    "after": lambda a, b: a > b,
    "on_or_after": lambda a, b: a >= b,
}


def _date_filters(query: Mapping[str, str]) -> list[Test]:
    """``query[created_*]`` and ``query[updated_*]``. A date alone compares calendar days (UTC);
    a date-time compares instants, except ``_on``, which always means the same day."""
    tests: list[Test] = []
    for stamp in ("created", "updated"):
        for name, compare in _COMPARISONS.items():
            raw = query.get(f"query[{stamp}_{name}]")
            if raw is not None:
                tests.append(_date_test(stamp, compare, raw, by_day=name == "on"))
    return tests


def _date_test(stamp: str, compare: Callable[[Any, Any], bool], raw: str, by_day: bool) -> Test:
    bound = _moment(raw)
    if bound is None:
        return lambda e: False
    day_only = by_day or (isinstance(bound, date) and not isinstance(bound, datetime))

    def test(enrollment: Enrollment) -> bool:
        moment: datetime = getattr(enrollment, f"{stamp}_at")
        if day_only:
            bound_day = bound.date() if isinstance(bound, datetime) else bound
            return compare(moment.date(), bound_day)
        return compare(moment, bound)

    return test


def _moment(raw: str) -> date | datetime | None:
    text = raw.strip().replace(" ", "+")
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


ROUTES = [
    Route("/enrollments", list_enrollments, methods=["GET"]),
    Route("/enrollments", create_enrollment, methods=["POST"]),
    Route("/enrollments/{id:int}", get_enrollment, methods=["GET"]),
    Route("/enrollments/{id:int}", update_enrollment, methods=["PUT"]),
]
