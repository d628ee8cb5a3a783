"""Take a course back after a refund or a cancellation: ``enrollment.revoked``.

Access follows money. Thinkific has no DELETE for enrollments, and deleting would lose the
learner's progress anyway, so the enrollment is expired: ``PUT /enrollments/{id}`` with
``expiry_date`` set to now, or, when another paid line of the same course still gives access,
to the end of that access. The message shares the ordering key of the ``enrollment.requested``
it takes back, so it is never delivered before the enrollment exists, unless that enrollment is
dead: the line is then remembered as taken back, and the enrollment, retried later, grants
nothing.

Idempotent as enrolling is: a redelivered message whose expiry is remembered costs no call; a
user or enrollment the site never had means there is nothing to take back, which is success.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from dispatcher.core.destination import Message
from dispatcher.destinations.thinkific.client import NEVER, ThinkificClient
from dispatcher.destinations.thinkific.enroll import BatchKnowledge, wire_time
from dispatcher.destinations.thinkific.memory import KnownEnrollment, SiteMemory
from dispatcher.destinations.thinkific.refusals import unless_gone
from dispatcher.destinations.thinkific.request import apply_mapping, line_of
from dispatcher.mapping import MappingError, Mappings

ENROLLMENT_REVOKED = "enrollment.revoked"


@dataclass(frozen=True, slots=True)
class RevocationRequest:
    message_id: int
    email: str
    course_id: int
    line: str | None = None  # the order line taken back (``enrollment_id`` of the payload)


def revocation_request(message: Message, mappings: Mappings, destination: str) -> RevocationRequest:
    """Map the message (the ``user`` and ``revocation`` sections of the mapping)."""
    mapped = apply_mapping(mappings, destination, message.event_type, message.payload)
    records = {record.object_name: record for record in mapped.records}
    user, enrollment = records.get("user"), records.get("enrollment")
    if user is None or enrollment is None:
        problem = "the mapping gives no user or no enrollment for this event"
        raise MappingError(mapped.event_type, "", problem)
    return RevocationRequest(
        message.id,
        str(user.external_id).strip().lower(),
        int(enrollment.external_id),
        line_of(message.payload),
    )


class Revoker:
    def __init__(
        self,
        client: ThinkificClient,
        memory: SiteMemory,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._memory = memory
        self._clock = clock

    async def revoke(self, request: RevocationRequest, known: BatchKnowledge) -> int | None:
        """The id of the enrollment written, or None when the site has none. The line is first
        remembered as taken back, so its enrollment, were it still to come (dead and retried,
        replayed), grants nothing."""
        if request.line is not None and request.line not in known.revoked:
            await self._memory.revoke_line(request.line, request.message_id)
            known.revoked.add(request.line)
        remembered_user = known.users.get(request.email)
        user_id = (
            remembered_user.user_id
            if remembered_user is not None
            else await self._client.find_user(request.email)
        )
        if user_id is None:
            return None
        remembered = known.enrollments.get((user_id, request.course_id))
        if remembered is not None and remembered.message_id == request.message_id:
            return remembered.enrollment_id  # this very message already expired it
        until = await self._access_left(user_id, request)
        enrollment_id = await self._end_at(until, user_id, request, remembered)
        if enrollment_id is not None:
            await self._memory.remember_enrollment(
                user_id, request.course_id, enrollment_id, until, request.message_id
            )
            known.enrollments[(user_id, request.course_id)] = KnownEnrollment(
                enrollment_id, until, request.message_id
            )
        return enrollment_id

    async def _access_left(self, user_id: int, request: RevocationRequest) -> datetime | None:
        """Now, unless another paid line of the same course still gives access: then the end
        of that access (None: never), so a refund of one purchase never takes another away."""
        if request.line is None:
            return self._clock()
        paid = await self._memory.paid_until(user_id, request.course_id, request.line)
        return self._clock() if paid is None else paid.expiry_date

    async def _end_at(
        self,
        until: datetime | None,
        user_id: int,
        request: RevocationRequest,
        remembered: KnownEnrollment | None,
    ) -> int | None:
        body = {"expiry_date": wire_time(until or NEVER)}
        if remembered is not None:
            if await unless_gone(self._client.update_enrollment(remembered.enrollment_id, body)):
                return remembered.enrollment_id
            await self._memory.forget_enrollment(remembered.enrollment_id)
        found = await self._client.enrollments(user_id, request.course_id)
        if not found:
            return None
        await self._client.update_enrollment(found[0].id, body)
        return found[0].id
