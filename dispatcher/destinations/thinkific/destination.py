"""The ``thinkific`` destination: each message of a batch handled concurrently, one outcome each.

Messages run side by side (at most ``max_in_flight`` at once; the site's budget paces their
calls), and a message's failure is classified where it is caught, so it fails only itself. The
outcome's record id is the Thinkific enrollment id. ``enrollment.revoked`` messages expire the
enrollment instead (``revoke``), ``customer.updated`` messages rename the user (``profile``; the
record id is the user id); every other event enrolls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence

from dispatcher.core.destination import Message, Outcome, Result
from dispatcher.core.errors import PermanentError
from dispatcher.core.redact import redact
from dispatcher.core.retry import outcome_for_error
from dispatcher.destinations.thinkific.enroll import BatchKnowledge, Enroller
from dispatcher.destinations.thinkific.memory import SiteMemory
from dispatcher.destinations.thinkific.profile import (
    CUSTOMER_UPDATED,
    ProfileRequest,
    ProfileUpdater,
    profile_request,
)
from dispatcher.destinations.thinkific.request import EnrollmentRequest, enrollment_request
from dispatcher.destinations.thinkific.revoke import (
    ENROLLMENT_REVOKED,
    RevocationRequest,
    Revoker,
    revocation_request,
)
from dispatcher.mapping import MappingError, Mappings

Request = EnrollmentRequest | RevocationRequest | ProfileRequest


class ThinkificDestination:
    def __init__(
        self,
        name: str,
        enroller: Enroller,
        memory: SiteMemory,
        mappings: Callable[[], Mappings],
        *,
        max_batch: int,
        max_in_flight: int,
        revoker: Revoker | None = None,
        profiles: ProfileUpdater | None = None,
    ) -> None:
        self.name = name
        self.max_batch = max_batch
        self._enroller = enroller
        self._revoker = revoker
        self._profiles = profiles
        self._memory = memory
        self._mappings = mappings
        self._parallel = max_in_flight

    async def deliver(self, batch: Sequence[Message]) -> Sequence[Outcome]:
        mappings = self._mappings()  # one mapping version for the whole batch
        requests: dict[int, Request] = {}
        outcomes: dict[int, Outcome] = {}
        for message in batch:
            try:
                requests[message.id] = self._request(message, mappings)
            except MappingError as exc:
                outcomes[message.id] = Outcome(
                    message.id, Result.DEAD, None, "MAPPING_ERROR", redact(str(exc))
                )
        known = await self._knowledge(requests.values())
        gate = asyncio.Semaphore(self._parallel)
        delivered = await asyncio.gather(
            *(self._one(gate, request, known) for request in requests.values())
        )
        outcomes.update((outcome.message_id, outcome) for outcome in delivered)
        return [outcomes[message.id] for message in batch]

    def _request(self, message: Message, mappings: Mappings) -> Request:
        """What the message asks of the site, by its event type; raises ``MappingError``."""
        if message.event_type == ENROLLMENT_REVOKED:
            return revocation_request(message, mappings, self.name)
        if message.event_type == CUSTOMER_UPDATED:
            return profile_request(message, mappings, self.name)
        return enrollment_request(message, mappings, self.name)

    async def _knowledge(self, requests: Iterable[Request]) -> BatchKnowledge:
        """What memory holds for the batch's people, courses and order lines: three statements
        per batch."""
        wanted = list(requests)
        if not wanted:
            return BatchKnowledge()
        users = await self._memory.users(request.email for request in wanted)
        pairs = [
            (users[r.email].user_id, r.course_id)
            for r in wanted
            if r.email in users and not isinstance(r, ProfileRequest)
        ]
        enrollments = await self._memory.enrollments(pairs) if pairs else {}
        lines = [r.line for r in wanted if isinstance(r, EnrollmentRequest) and r.line]
        revoked = set(await self._memory.revoked_lines(lines)) if lines else set()
        return BatchKnowledge(users=users, enrollments=enrollments, revoked=revoked)

    async def _one(
        self,
        gate: asyncio.Semaphore,
        request: Request,
        known: BatchKnowledge,
    ) -> Outcome:
        async with gate:
            try:
                record = await self._act(request, known)
            except Exception as exc:  # classified once, here; the rest of the batch goes on
                return outcome_for_error(request.message_id, exc)
        record_id = None if record is None else str(record)
        return Outcome.delivered(request.message_id, record_id=record_id)

    async def _act(self, request: Request, known: BatchKnowledge) -> int | None:
        """The Thinkific id written, or None when the message needed no write."""
        if isinstance(request, RevocationRequest):
            if self._revoker is None:
                raise _unsupported("revocation")
            return await self._revoker.revoke(request, known)
        if isinstance(request, ProfileRequest):
            if self._profiles is None:
                raise _unsupported("profile updates")
            return await self._profiles.update(request, known)
        return await self._enroller.enroll(request, known)

    async def aclose(self) -> None:
        return None


def _unsupported(what: str) -> PermanentError:
    return PermanentError(f"this destination was built without {what}", code="NOT_SUPPORTED")
