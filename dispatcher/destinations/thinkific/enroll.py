"""Enrol one person in one course, idempotently, in as few calls as the facts allow.

Thinkific has no upsert (API-NOTES §0.5), so idempotency is built from look-ups and memory:

1. **User.** A remembered e-mail needs no call. Otherwise ``POST /users`` at once: a new
   customer costs one call, and a 422 for a taken e-mail leads to ``GET /users?query[email]=``
   instead of a failure (the user exists, made by us before or by someone else).
2. **Group** (an organisation's licence). ``POST /group_users`` by the group's name; when the
   site says the name is unknown, the site's groups are searched for the same organisation
   spelt otherwise (``organisation_key``, the key of its Salesforce Account), and only when
   there is none, ``POST /groups``; then add again. A membership made once is remembered by the
   key and never sent again.
3. **Enrollment.** An order line taken back since (``outbox.thinkific_lines``) is not enrolled
   at all; a line granted is remembered there with the end of access it paid for. A
   redelivered message whose enrollment is remembered needs no call. A remembered enrollment
   of the same course is updated (``PUT``, reactivated and extended), never duplicated. When
   the message was tried before, or the user was found on the site rather than made or
   remembered by us, the enrollment is looked up first. Otherwise ``POST /enrollments`` with
   ``activated_at``; an "already enrolled" 422 is success, reached through the look-up and an
   update when the dates need one.

A remembered user id the site no longer knows ("User could not be found.") is forgotten and
the user found again, once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dispatcher.destinations.thinkific.client import NEVER, FoundEnrollment, ThinkificClient
from dispatcher.destinations.thinkific.memory import (
    Granted,
    KnownEnrollment,
    KnownUser,
    SiteMemory,
)
from dispatcher.destinations.thinkific.refusals import (
    ALREADY_ENROLLED,
    INVALID_GROUP_NAMES,
    TAKEN,
    USER_NOT_FOUND,
    ThinkificRejected,
    unless_gone,
)
from dispatcher.destinations.thinkific.request import EnrollmentRequest


@dataclass(frozen=True, slots=True)
class SiteUser:
    user_id: int
    groups: frozenset[str]
    remembered: bool  # known from our memory, not learnt during this delivery
    found: bool  # existed on the site before we asked to create it


@dataclass
class BatchKnowledge:
    """What one batch knows of the site: read from memory at its start, grown as it goes."""

    users: dict[str, KnownUser] = field(default_factory=dict)
    enrollments: dict[tuple[int, int], KnownEnrollment] = field(default_factory=dict)
    user_locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)  # order lines taken back on the site


class Enroller:
    def __init__(self, client: ThinkificClient, memory: SiteMemory) -> None:
        self._client = client
        self._memory = memory

    async def enroll(self, request: EnrollmentRequest, known: BatchKnowledge) -> int | None:
        """The enrollment id of ``request``'s user in its course, made or updated as needed;
        None, with no call, for a line refunded or cancelled since: access follows money, so a
        retried, replayed or late enrollment of a line taken back grants nothing."""
        if request.line is not None and request.line in known.revoked:
            return None
        user = await self._user(request, known)
        try:
            await self._join_group(request, user, known)
            return await self._enrollment(request, user, known)
        except ThinkificRejected as exc:
            if not (user.remembered and exc.says(USER_NOT_FOUND)):
                raise
        await self._memory.forget_user(request.email)  # deleted on the site since we made it
        known.users.pop(request.email, None)
        user = await self._user(request, known)
        await self._join_group(request, user, known)
        return await self._enrollment(request, user, known)

    async def _user(self, request: EnrollmentRequest, known: BatchKnowledge) -> SiteUser:
        """One resolution per e-mail at a time, so two purchases of one new customer in a
        batch create the user once."""
        async with known.user_locks.setdefault(request.email, asyncio.Lock()):
            remembered = known.users.get(request.email)
            if remembered is not None:
                return SiteUser(remembered.user_id, remembered.groups, True, False)
            user_id, found = await self._create_or_find(request)
            await self._memory.remember_user(request.email, user_id)
            known.users[request.email] = KnownUser(user_id, frozenset())
        return SiteUser(user_id, frozenset(), False, found)

    async def _create_or_find(self, request: EnrollmentRequest) -> tuple[int, bool]:
        try:
            return await self._client.create_user(request.user_fields), False
        except ThinkificRejected as refused:
            if refused.http_status != 422:
                raise
            user_id = await self._client.find_user(request.email)
            if user_id is None or not refused.says(TAKEN):
                raise refused from None  # a real validation failure: keep the site's words
            return user_id, True

    async def _join_group(
        self, request: EnrollmentRequest, user: SiteUser, known: BatchKnowledge
    ) -> None:
        """Memberships are remembered by the group's key, so a second spelling of the same
        organisation costs no call."""
        group, key = request.group, request.group_key
        if group is None or key is None or key in user.groups:
            return
        await self._add_to_group(user.user_id, group, key)
        await self._memory.remember_user(request.email, user.user_id, [key])
        known.users[request.email] = KnownUser(user.user_id, user.groups | {key})

    async def _add_to_group(self, user_id: int, group: str, key: str) -> None:
        """By this spelling first; when the site knows no group of it, by the site's spelling of
        the same organisation, and only when there is none, a new group."""
        try:
            await self._client.add_to_group(user_id, group)
            return
        except ThinkificRejected as refused:
            if not refused.says(INVALID_GROUP_NAMES):
                raise
        name = await self._client.find_group(key) or await self._create_group(group, key)
        await self._client.add_to_group(user_id, name)

    async def _create_group(self, name: str, key: str) -> str:
        """The name the site now has; a taken name is a group made a moment ago by another
        delivery, perhaps spelt otherwise, which is then looked up."""
        try:
            await self._client.create_group(name)
        except ThinkificRejected as refused:
            if not refused.says(TAKEN):
                raise
            found = await self._client.find_group(key)
            if found is None:
                raise
            return found
        return name

    async def _enrollment(
        self, request: EnrollmentRequest, user: SiteUser, known: BatchKnowledge
    ) -> int:
        pair = (user.user_id, request.course_id)
        remembered = known.enrollments.get(pair)
        if remembered is not None and remembered.message_id == request.message_id:
            return remembered.enrollment_id  # this very message already did it
        if remembered is not None and await self._update_remembered(request, remembered):
            enrollment_id, expiry = (
                remembered.enrollment_id,
                later(remembered.expiry_date, request.expiry_date),
            )
        else:
            enrollment_id, expiry = await self._create_or_update(request, user)
        granted = None if request.line is None else Granted(request.line, request.expiry_date)
        await self._memory.remember_enrollment(
            user.user_id, request.course_id, enrollment_id, expiry, request.message_id, granted
        )
        known.enrollments[pair] = KnownEnrollment(enrollment_id, expiry, request.message_id)
        return enrollment_id

    async def _update_remembered(
        self, request: EnrollmentRequest, remembered: KnownEnrollment
    ) -> bool:
        """Reactivate and extend an enrollment we made; False when the site has lost it."""
        expiry = later(remembered.expiry_date, request.expiry_date)
        body = update_body(request.activated_at, expiry, remembered.expiry_date)
        if await unless_gone(self._client.update_enrollment(remembered.enrollment_id, body)):
            return True
        await self._memory.forget_enrollment(remembered.enrollment_id)
        return False

    async def _create_or_update(
        self, request: EnrollmentRequest, user: SiteUser
    ) -> tuple[int, datetime | None]:
        if request.tried_before or user.found:
            existing = await self._client.enrollments(user.user_id, request.course_id)
            if existing:
                return await self._bring_up_to_date(request, existing[0])
        try:
            enrollment_id = await self._client.create_enrollment(creation_body(request, user))
        except ThinkificRejected as refused:
            if not refused.says(ALREADY_ENROLLED):
                raise
            existing = await self._client.enrollments(user.user_id, request.course_id)
            if not existing:
                raise
            return await self._bring_up_to_date(request, existing[0])
        return enrollment_id, request.expiry_date

    async def _bring_up_to_date(
        self, request: EnrollmentRequest, found: FoundEnrollment
    ) -> tuple[int, datetime | None]:
        """Update an enrollment found on the site only when it would not already give access
        until the wanted date: a trial, an expired one, or one that ends too soon."""
        expiry = later(found.expiry_date, request.expiry_date)
        if found.activated_at is not None and not found.expired and expiry == found.expiry_date:
            return found.id, expiry
        reactivate = found.activated_at is None or found.expired
        activated = request.activated_at if reactivate else found.activated_at
        body = update_body(activated, expiry, found.expiry_date)
        await self._client.update_enrollment(found.id, body)
        return found.id, expiry


def creation_body(request: EnrollmentRequest, user: SiteUser) -> dict[str, Any]:
    """``CreateEnrollmentRequest``: always with ``activated_at``, or it is only a free trial
    (API-NOTES §2.3); without ``expiry_date`` it never expires."""
    activated = request.activated_at or datetime.now(UTC)
    body: dict[str, Any] = {
        "course_id": request.course_id,
        "user_id": user.user_id,
        "activated_at": wire_time(activated),
    }
    if request.expiry_date is not None:
        body["expiry_date"] = wire_time(request.expiry_date)
    return body


def update_body(
    activated_at: datetime | None, expiry: datetime | None, current_expiry: datetime | None
) -> dict[str, Any]:
    """``UpdateEnrollmentRequest`` with only what is set: no property takes null. A wanted
    "never expires" over a dated enrollment is sent as ``NEVER``; over an undated one, the
    expiry is left out and stays as it is."""
    body: dict[str, Any] = {}
    if activated_at is not None:
        body["activated_at"] = wire_time(activated_at)
    if expiry is not None:
        body["expiry_date"] = wire_time(expiry)
    elif current_expiry is not None:
        body["expiry_date"] = wire_time(NEVER)
    return body


def later(current: datetime | None, wanted: datetime | None) -> datetime | None:
    """The later of two expiry dates, where None (never expires) is the latest of all."""
    if current is None or wanted is None:
        return None
    return max(current, wanted)


def wire_time(moment: datetime | None) -> str | None:
    """``YYYY-MM-DDTHH:MM:SSZ``, the API's date format (API-NOTES §2.1)."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
