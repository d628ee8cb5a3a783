"""How the worker hands a batch with key runs to a destination: together when the destination
writes them all or nothing, and round by round for what it did not apply."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from dispatcher.core.destination import Message, Outcome, Result, key_rounds
from dispatcher.core.worker import send_batch


def message_factory(id: int, key: str | None, *, problem: str | None = None) -> Message:
    return Message(
        id, "order.paid", key, f"m{id}", None, {}, 0, datetime(2026, 1, 1, tzinfo=UTC), problem
    )


BATCH = [
    message_factory(1, "a"),
    message_factory(2, "b"),
    message_factory(3, "a"),
    message_factory(4, None),
    message_factory(5, "a"),
]


class Destination:
    name = "scripted"
    max_batch = 100

    def __init__(
        self,
        together: str,
        failing: frozenset[int] = frozenset(),
        answer: Sequence[Outcome] = (),
    ) -> None:
        self.together = together  # "all", "none", "raise", "answer": the answer given
        self.answer = answer
        self.failing = failing
        self.runs: list[list[int]] = []
        self.rounds: list[list[int]] = []

    async def deliver_key_runs(self, batch: Sequence[Message]) -> Sequence[Outcome] | None:
        self.runs.append([m.id for m in batch])
        if self.together == "raise":
            raise RuntimeError("bug")
        if self.together == "none":
            return None
        if self.together == "answer":
            return self.answer
        return [Outcome.delivered(m.id) for m in batch]

    async def send(self, batch: Sequence[Message]) -> dict[int, Outcome]:
        self.rounds.append([m.id for m in batch])
        return {
            m.id: Outcome(m.id, Result.RETRY) if m.id in self.failing else Outcome.delivered(m.id)
            for m in batch
        }

    async def deliver(self, batch: Sequence[Message]) -> Sequence[Outcome]:
        return list((await self.send(batch)).values())

    async def aclose(self) -> None:
        return None


def test_key_rounds_hold_every_keys_kth_message_in_id_order() -> None:
    rounds = key_rounds(list(reversed(BATCH)))
    assert [[m.id for m in r] for r in rounds] == [[1, 2, 4], [3], [5]]


async def test_send_batch_hands_runs_to_a_destination_that_writes_them_together() -> None:
    destination = Destination("all")
    outcomes, untried = await send_batch(destination, destination.send, BATCH)
    assert destination.runs == [[1, 2, 3, 4, 5]]
    assert destination.rounds == []
    assert sorted(outcomes) == [1, 2, 3, 4, 5]
    assert untried == []
    assert {o.result for o in outcomes.values()} == {Result.DELIVERED}


def answer_factory(*ids: int, result: Result = Result.DELIVERED) -> list[Outcome]:
    return [Outcome(id, result) for id in ids]


NOT_TRUSTED = {
    "a key's later message without its first": answer_factory(3),
    "a message twice": answer_factory(2, 2),
    "a message not in the batch": answer_factory(2, 9),
    "a failure": [*answer_factory(2), *answer_factory(4, result=Result.RETRY)],
}


@pytest.mark.parametrize("together", ["none", "raise", "empty", *NOT_TRUSTED])
async def test_send_batch_falls_back_to_rounds_when_nothing_was_applied_or_trusted(
    together: str,
) -> None:
    answer = NOT_TRUSTED.get(together, [])
    destination = Destination(together if together in ("none", "raise") else "answer",
                              failing=frozenset({3}), answer=answer)  # fmt: skip
    outcomes, untried = await send_batch(destination, destination.send, BATCH)
    assert destination.runs == [[1, 2, 3, 4, 5]]
    assert destination.rounds == [[1, 2, 4], [3]]
    assert outcomes[3].result is Result.RETRY
    assert [m.id for m in untried] == [5]


async def test_send_batch_sends_round_by_round_only_what_the_runs_did_not_apply() -> None:
    # Key a's first two and key b were applied together; a's third and the unkeyed message
    # were not: they alone go round by round, and 5 fails there alone.
    destination = Destination("answer", failing=frozenset({5}), answer=answer_factory(1, 2, 3))
    outcomes, untried = await send_batch(destination, destination.send, BATCH)
    assert destination.rounds == [[4, 5]]
    assert sorted(outcomes) == [1, 2, 3, 4, 5]
    assert [outcomes[n].result for n in (1, 2, 3, 4)] == [Result.DELIVERED] * 4
    assert outcomes[5].result is Result.RETRY
    assert untried == []


async def test_send_batch_hands_back_what_follows_a_failure_among_the_rest() -> None:
    # Key b was applied together; key a went round by round and stopped at its second.
    destination = Destination("answer", failing=frozenset({3}), answer=answer_factory(2))
    outcomes, untried = await send_batch(destination, destination.send, BATCH)
    assert destination.rounds == [[1, 4], [3]]
    assert outcomes[2].result is Result.DELIVERED
    assert outcomes[3].result is Result.RETRY
    assert [m.id for m in untried] == [5]


async def test_send_batch_sends_rounds_alone_without_a_run_or_with_an_unreadable_message() -> None:
    destination = Destination("all")
    await send_batch(destination, destination.send, [BATCH[0], BATCH[1]])
    unreadable = [*BATCH, message_factory(6, "c", problem="not JSON")]
    await send_batch(destination, destination.send, unreadable)
    assert destination.runs == []
    assert destination.rounds == [[1, 2], [1, 2, 4, 6], [3], [5]]
