"""Keep a learner's names current on the site after a profile change: ``customer.updated``.

The storefront publishes a Thinkific message only when a name the site keeps changed, and the
mapping (section ``user_profile``, ``update_only``) makes its body: only the changed names,
never a field the mapping says Thinkific owns. Thinkific has no upsert, so the user is found
as enrolling finds it: the e-mail remembered for the site costs no call, otherwise
``GET /users?query[email]=``, and the id found is remembered for the next message.

A user the site does not have is not created here: nothing on the site is stale, and the user
is made with the names current at the time by their first enrollment. Such a message, and one
whose body is empty, is delivered without a write and without a record id, as a revocation
with nothing to take back is. A remembered id the site no longer knows (404) is forgotten and
the user found again, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dispatcher.core.destination import Message
from dispatcher.destinations.thinkific.client import ThinkificClient
from dispatcher.destinations.thinkific.enroll import BatchKnowledge
from dispatcher.destinations.thinkific.memory import KnownUser, SiteMemory
from dispatcher.destinations.thinkific.refusals import unless_gone
from dispatcher.destinations.thinkific.request import apply_mapping
from dispatcher.mapping import MappingError, Mappings, Operation

CUSTOMER_UPDATED = "customer.updated"


@dataclass(frozen=True, slots=True)
class ProfileRequest:
    message_id: int
    email: str
    fields: Mapping[str, Any]  # an UpdateUserRequest body: the changed names only


def profile_request(message: Message, mappings: Mappings, destination: str) -> ProfileRequest:
    """Map the message; the e-mail is the look-up key, so it is left out of the body (a PUT
    with it would rewrite the site's spelling of the address)."""
    mapped = apply_mapping(mappings, destination, message.event_type, message.payload)
    user = next((record for record in mapped.records if record.object_name == "user"), None)
    if user is None:
        raise MappingError(mapped.event_type, "", "the mapping gives no user for this event")
    body = user.body(Operation.UPDATE)
    body.pop(user.external_id_field, None)
    return ProfileRequest(message.id, str(user.external_id).strip().lower(), body)


class ProfileUpdater:
    def __init__(self, client: ThinkificClient, memory: SiteMemory) -> None:
        self._client = client
        self._memory = memory

    async def update(self, request: ProfileRequest, known: BatchKnowledge) -> int | None:
        """The id of the user written, or None when there was nothing to write or nobody to
        write to. Holds the e-mail's lock of the batch, so an enrollment earlier in the batch
        creates the user first and this change then reaches it."""
        if not request.fields:
            return None
        async with known.user_locks.setdefault(request.email, asyncio.Lock()):
            remembered = known.users.get(request.email)
            if remembered is not None and await self._put(remembered.user_id, request):
                return remembered.user_id
            return await self._find_and_put(request, known)

    async def _put(self, user_id: int, request: ProfileRequest) -> bool:
        """False when the site no longer knows this remembered id; it is forgotten."""
        if await unless_gone(self._client.update_user(user_id, request.fields)):
            return True
        await self._memory.forget_user(request.email)
        return False

    async def _find_and_put(self, request: ProfileRequest, known: BatchKnowledge) -> int | None:
        known.users.pop(request.email, None)
        user_id = await self._client.find_user(request.email)
        if user_id is None:
            return None
        await self._memory.remember_user(request.email, user_id)
        known.users[request.email] = KnownUser(user_id, frozenset())
        await self._client.update_user(user_id, request.fields)
        return user_id
