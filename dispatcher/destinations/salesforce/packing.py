"""A batch's key runs packed into several composite calls when they do not fit in one.

Units are whole keys' runs (a key's messages in the batch, in id order) and unkeyed messages,
one each. ``pack`` fills groups greedily in id order, each group the most units whose run
``runs.plan_run`` fits in one call, so a key is never split between calls: each group is all or
nothing on its own, and a group refused leaves its keys exactly as they were, for the rounds. A
key whose run does not fit one call alone is left to the rounds too.

Packing does not always save calls. The rounds write every key's records of one kind (the
Orders, the lines) in one sObject Collections chunk of up to 200, five chunks a call, so a big
backlog costs them a call or so per round however many keys it holds, while a group holds only
what 25 subrequests carry. ``rounds_calls`` counts what the rounds would cost, and the writer
packs only when the groups cost fewer calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from dispatcher.core.destination import Message, key_rounds
from dispatcher.destinations.salesforce.plan import BatchPlan, Key, Known, plan_batch
from dispatcher.destinations.salesforce.upsert import PER_COMPOSITE, chunks
from dispatcher.mapping import DestinationMapping, MappedRecord

Unit = tuple[Message, ...]
"""A key's messages in the batch, in id order, or one message without a key."""
Item = TypeVar("Item")


def units_of(batch: Sequence[Message]) -> list[Unit]:
    """The batch as units, in the id order of each unit's first message."""
    found: dict[str | int, list[Message]] = {}
    for message in sorted(batch, key=lambda m: m.id):
        key = message.id if message.ordering_key is None else message.ordering_key
        found.setdefault(key, []).append(message)
    return [tuple(messages) for messages in found.values()]


def plan_units(
    mapping: DestinationMapping,
    records: Mapping[int, tuple[MappedRecord, ...]],
    group: Sequence[Unit],
    known: Mapping[Key, Known],
) -> list[BatchPlan]:
    """The group's rounds, each planned as ``deliver`` plans a batch, from each message's
    records (mapped once for the whole batch) and what the destination knows. A message without
    records (refused before any call) has nothing to send."""
    messages = [m for unit in group for m in unit if m.id in records]
    return [
        plan_batch(mapping, [(m, records[m.id]) for m in round_], known)
        for round_ in key_rounds(messages)
    ]


def pack(
    units: Sequence[Item], fits: Callable[[Sequence[Item]], bool], most: int
) -> tuple[list[list[Item]], list[Item]] | None:
    """Greedy, in the order given: each group is the longest stretch of the next units that
    ``fits`` one call; a unit that does not fit alone is left out (the second list). None once
    more than ``most`` groups would be needed: packing further could not pay."""
    groups: list[list[Item]] = []
    alone: list[Item] = []
    start = 0
    while start < len(units):
        if len(groups) >= most:
            return None
        end = _longest(units, start, fits)
        if end == start:
            alone.append(units[start])
            start += 1
            continue
        groups.append(list(units[start:end]))
        start = end
    return groups, alone


def _longest(units: Sequence[Item], start: int, fits: Callable[[Sequence[Item]], bool]) -> int:
    """The furthest end whose stretch from ``start`` fits (``start`` when none does): sizes
    double until one does not fit, then bisect, so a group of 20 keys costs ten plans, not 20.
    More keys mean more records, so a stretch that does not fit is not followed by a longer one
    that does (a parent two keys share could bend that; then a group is only smaller than it
    could be, never over the limits, since each group is checked as exactly its units)."""
    done, size = start, 1
    beyond = len(units) + 1
    while done < len(units):
        end = min(start + size, len(units))
        if not fits(units[start:end]):
            beyond = end
            break
        done, size = end, size * 2
    while beyond - done > 1 and done < len(units):
        middle = (done + beyond) // 2
        if fits(units[start:middle]):
            done = middle
        else:
            beyond = middle
    return done


def rounds_calls(plans: Sequence[BatchPlan]) -> int:
    """The API calls the rounds would make for these plans (one a round, as ``deliver`` sends
    it): a call for each ``PER_COMPOSITE`` chunks of what a round sends, none for a round with
    nothing to send."""
    calls = 0
    for plan in plans:
        found = chunks([w for w in plan.writes.values() if not w.unchanged])
        calls += -(-len(found) // PER_COMPOSITE)
    return calls
