"""Packing a batch's key runs into composite calls: greedy groups of whole keys, and what the
rounds would cost instead."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from dispatcher.core.destination import Message
from dispatcher.destinations.salesforce.packing import pack, rounds_calls, units_of
from dispatcher.destinations.salesforce.plan import BatchPlan, RecordWrite
from dispatcher.mapping import Operation


def message_factory(id: int, key: str | None) -> Message:
    return Message(id, "order.paid", key, f"m{id}", None, {}, 0, datetime(2026, 1, 1, tzinfo=UTC))


def holds(capacity: int, tried: list[int] | None = None) -> Callable[[Sequence[int]], bool]:
    def fits(units: Sequence[int]) -> bool:
        if tried is not None:
            tried.append(len(units))
        return sum(units) <= capacity

    return fits


def test_units_of_a_batch_are_whole_keys_and_lone_messages_in_id_order() -> None:
    batch = [message_factory(n, k) for n, k in [(5, "a"), (1, "b"), (2, None), (3, "a"), (4, "b")]]
    assert [[m.id for m in unit] for unit in units_of(batch)] == [[1, 4], [2], [3, 5]]


def test_pack_fills_each_group_with_the_most_next_units_and_leaves_out_the_too_big() -> None:
    packed = pack([4, 4, 4, 11, 3, 3, 3, 3], holds(10), most=10)
    assert packed == ([[4, 4], [4], [3, 3, 3], [3]], [11])


def test_pack_gives_up_once_more_groups_than_allowed_would_be_needed() -> None:
    assert pack([4, 4, 4, 4], holds(8), most=1) is None
    assert pack([4, 4, 4, 4], holds(8), most=2) == ([[4, 4], [4, 4]], [])


def test_pack_plans_a_big_group_a_few_times_not_once_per_unit() -> None:
    tried: list[int] = []
    packed = pack([1] * 100, holds(60, tried), most=10)
    assert packed is not None
    assert [len(group) for group in packed[0]] == [60, 40]
    assert len(tried) <= 2 * 7 + 7  # doubling to 64, bisecting down to 60; then 40 at once


def write_factory(obj: str, key: str, operation: Operation = Operation.CREATE) -> RecordWrite:
    body = {} if operation is Operation.UPDATE else {"Name": key}
    return RecordWrite(obj, "Ext__c", key, operation, body, dict(body), {key}, salesforce_id="x")


def plan_factory(*writes: RecordWrite) -> BatchPlan:
    return BatchPlan((), {w.key: w for w in writes}, ())


def test_rounds_calls_counts_five_chunks_a_call_and_none_for_a_round_with_nothing() -> None:
    six = plan_factory(*(write_factory(f"O{n}__c", f"k{m}") for n in range(6) for m in range(3)))
    one = plan_factory(write_factory("Order", "SO-1"))
    unchanged = plan_factory(write_factory("Order", "SO-1", Operation.UPDATE))
    assert rounds_calls([six, one, unchanged]) == 2 + 1 + 0
