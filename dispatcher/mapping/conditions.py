"""``when`` conditions and business rules, compiled to predicates at load.

One operator vocabulary serves both: a condition tests a payload path and decides whether a
section or field applies; a rule tests a mapped field and, when it fails, makes the message
dead with the rule's ``problem`` text. Equality compares as value maps do (``true``, ``12``),
so ``equals: true`` matches a JSON true; order comparisons are decimal, never float.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from dispatcher.mapping.model import Condition
from dispatcher.mapping.paths import PathRef, parse_path
from dispatcher.mapping.transforms import value_key

Test = Callable[[Any], bool]
Conditions = tuple[tuple[PathRef, Test], ...]
"""Tests that must all hold, each on the value at its path; empty means always."""


def present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def _number(value: Any) -> Decimal | int | None:
    """The value as a number to compare, or None when it is not one (the test then fails)."""
    kind = type(value)
    if kind is Decimal or kind is int:
        return value  # type: ignore[no-any-return]  # narrowed by the exact type test
    if value is None or kind is bool:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _ordered(compare: Callable[[Any, Any], bool], operand: Decimal) -> Test:
    def test(value: Any) -> bool:
        number = _number(value)
        if number is None or (type(number) is Decimal and not number.is_finite()):
            return False
        return compare(number, operand)

    return test


def build_test(name: str, operand: Any) -> Test:
    """The test for one operator of ``model._Test``; operands were validated by pydantic."""
    if name == "present":
        wanted = bool(operand)
        return lambda v: present(v) is wanted
    if name in ("equals", "not_equals"):
        key, equal = value_key(operand), name == "equals"
        return lambda v: (v is not None and value_key(v) == key) is equal
    if name in ("in", "not_in"):
        keys, inside = frozenset(value_key(o) for o in operand), name == "in"
        return lambda v: (v is not None and value_key(v) in keys) is inside
    comparisons: dict[str, Callable[[Any, Any], bool]] = {
        "gt": operator.gt,
        "gte": operator.ge,
        "lt": operator.lt,
        "lte": operator.le,
    }
    return _ordered(comparisons[name], operand)


def build_conditions(conditions: Sequence[Condition], item_name: str | None) -> Conditions:
    return tuple((parse_path(c.path, item_name), build_test(*c.operator())) for c in conditions)
