"""The ``thinkific`` destination: each message of a batch handled concurrently, one outcome each.

Messages run side by side (at most ``max_in_flight`` at once; the site's budget paces their
calls), and a message's failure is classified where it is caught, so it fails only itself. The
outcome's record id is the Thinkific enrollment id. ``enrollment.revoked`` messages expire the
enrollment instead (``revoke``); every other event enrolls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence

from dispatcher.destinations.base import Message, Outcome, Result
from dispatcher.destinations.thinkific.enroll import BatchKnowledge, Enroller
from dispatcher.destinations.thinkific.memory import SiteMemory
from dispatcher.destinations.thinkific.request import EnrollmentRequest, enrollment_request
from dispatcher.destinations.thinkific.revoke import (
    ENROLLMENT_REVOKED,
    RevocationRequest,
    Revoker,
    revocation_request,
)
from dispatcher.errors import PermanentError
from dispatcher.mapping import MappingError, Mappings
from dispatcher.redact import redact
from dispatcher.retry import outcome_for_error


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
    ) -> None:
        self.name = name
        self.max_batch = max_batch
        self._enroller = enroller
        self._revoker = revoker
        self._memory = memory
        self._mappings = mappings
        self._parallel = max_in_flight

    async def deliver(self, batch: Sequence[Message]) -> Sequence[Outcome]:
        mappings = self._mappings()  # one mapping version for the whole batch
        requests: dict[int, EnrollmentRequest | RevocationRequest] = {}
        outcomes: dict[int, Outcome] = {}
        for message in batch:
            try:
                requests[message.id] = (
                    revocation_request(message, mappings, self.name)
                    if message.event_type == ENROLLMENT_REVOKED
                    else enrollment_request(message, mappings, self.name)
                )
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

    async def _knowledge(
        self, requests: Iterable[EnrollmentRequest | RevocationRequest]
    ) -> BatchKnowledge:
        """What memory holds for the batch's people and courses: two statements per batch."""
        wanted = list(requests)
        if not wanted:
            return BatchKnowledge()
        users = await self._memory.users(request.email for request in wanted)
        pairs = [(users[r.email].user_id, r.course_id) for r in wanted if r.email in users]
        enrollments = await self._memory.enrollments(pairs) if pairs else {}
        return BatchKnowledge(users=users, enrollments=enrollments)

    async def _one(
        self,
        gate: asyncio.Semaphore,
        request: EnrollmentRequest | RevocationRequest,
        known: BatchKnowledge,
    ) -> Outcome:
        async with gate:
            try:
                if isinstance(request, RevocationRequest):
                    enrollment_id = await self._revoke(request, known)
                else:
                    enrollment_id = await self._enroller.enroll(request, known)
            except Exception as exc:  # classified once, here; the rest of the batch goes on
                return outcome_for_error(request.message_id, exc)
        record_id = None if enrollment_id is None else str(enrollment_id)
        return Outcome.delivered(request.message_id, record_id=record_id)

    async def _revoke(self, request: RevocationRequest, known: BatchKnowledge) -> int | None:
        if self._revoker is None:
            raise PermanentError(
                "this destination was built without revocation", code="NOT_SUPPORTED"
            )
        return await self._revoker.revoke(request, known)

    async def aclose(self) -> None:
        return None
