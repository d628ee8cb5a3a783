"""The destination protocol: a name, a largest batch, and ``deliver(batch) -> outcomes``.

A destination never raises for one message's failure: it returns one ``Outcome`` per message, so
a bad record fails only itself. If ``deliver`` does raise, the worker turns the exception into
an outcome for every message of the batch (see ``dispatcher.core.retry.outcome_from_exception``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    event_type: str
    ordering_key: str | None
    idempotency_key: str
    correlation_id: uuid.UUID | None
    payload: dict[str, Any]
    attempt: int
    created_at: datetime
    # Why the stored payload cannot be handled at all (not JSON we can read, nested too deep,
    # not an object): such a message becomes its own dead letter without reaching a destination.
    problem: str | None = None


class Result(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD = "dead"
    RATE_LIMITED = "rate_limited"
    RELEASED = "released"  # never sent (the breaker was open); not an attempt


@dataclass(frozen=True, slots=True)
class Outcome:
    message_id: int
    result: Result
    http_status: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    retry_after: float | None = None
    record_id: str | None = None

    @classmethod
    def delivered(
        cls, message_id: int, *, record_id: str | None = None, http_status: int | None = None
    ) -> Outcome:
        return cls(message_id, Result.DELIVERED, http_status=http_status, record_id=record_id)


class Destination(Protocol):
    """Where messages go. A batch may hold several consecutive messages of one ordering key.

    By default the worker sends such a batch in rounds, at most one message of a key per
    ``deliver`` call. A destination that sets ``sends_key_runs = True`` takes the whole batch in
    one call instead, and promises what the rounds guarantee: a key's messages are applied in
    id order, and after a key's first failure nothing later of that key is applied (it returns
    a failure for each, such as ``Result.RETRY``).

    A destination may also offer ``deliver_key_runs(batch) -> Sequence[Outcome] | None``: write
    the rounds of the batch at once, in round order, all or nothing for each part it writes
    together (the whole batch, or groups of whole keys). It answers a delivered outcome for each
    message it applied, and nothing for the others: one per message when everything was
    applied, None (or nothing) when nothing was (refused, too big, or not worth trying). Within
    a key, the messages it answers must come before those it does not. The worker sends what it
    did not answer round by round as above, and never sends again what it did, so a failure is
    reported, and what is behind it handed back untried, exactly as without it.
    """

    name: str
    max_batch: int

    async def deliver(self, batch: Sequence[Message]) -> Sequence[Outcome]: ...

    async def aclose(self) -> None: ...


def key_rounds(batch: Sequence[Message]) -> list[list[Message]]:
    """A batch as rounds, each in id order: the unkeyed messages and the first of each key,
    then the second of each key, and so on. Round k holds every key's k-th message."""
    rounds: list[list[Message]] = []
    seen: dict[str | None, int] = {}
    for message in sorted(batch, key=lambda m: m.id):
        key = message.ordering_key
        position = 0 if key is None else seen.get(key, 0)
        if key is not None:
            seen[key] = position + 1
        if position == len(rounds):
            rounds.append([])
        rounds[position].append(message)
    return rounds
