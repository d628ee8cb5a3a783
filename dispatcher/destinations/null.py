"""The ``null`` destination acknowledges everything at once: the dispatcher measured alone."""

from __future__ import annotations

from collections.abc import Sequence

from dispatcher.core.destination import Message, Outcome


class NullDestination:
    # It applies nothing and never fails, so a key's run in one call keeps its order trivially.
    sends_key_runs = True

    def __init__(self, name: str = "null", max_batch: int = 500) -> None:
        self.name = name
        self.max_batch = max_batch

    async def deliver(self, batch: Sequence[Message]) -> Sequence[Outcome]:
        return [Outcome.delivered(message.id) for message in batch]

    async def aclose(self) -> None:
        return None
