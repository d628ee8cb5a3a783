"""Dotted source paths compiled to getters once, at load, so mapping a message walks no strings.

A path reads the message payload (``order.total``) or, inside a section that iterates a list,
the current item under the name the section gives it (``line.sku``). A missing key or a null on
the way yields None: absence is for defaults and ``when`` to handle, not an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Lookup = Callable[[str, str], Any]
"""``lookup(table, key)``: the caller's read of the replicated catalog; None when unknown."""


class Scope:
    """What one record is built from: the payload, the current list item, the caller's lookup."""

    __slots__ = ("item", "lookup", "root")

    def __init__(self, root: Mapping[str, Any], item: Any, lookup: Lookup | None) -> None:
        self.root = root
        self.item = item
        self.lookup = lookup


Getter = Callable[[Scope], Any]


def event_path(path: str, item_name: str | None, for_each: str | None) -> str:
    """The path as the event schema spells it: ``line.sku`` under ``for_each: lines`` is
    ``lines[].sku``."""
    head, _, rest = path.partition(".")
    if item_name is not None and for_each is not None and head == item_name:
        return f"{for_each}[].{rest}" if rest else f"{for_each}[]"
    return path


@dataclass(frozen=True, slots=True)
class PathRef:
    """A parsed path: the keys to walk, from the payload or from the current list item."""

    keys: tuple[str, ...]
    from_item: bool


def parse_path(path: str, item_name: str | None = None) -> PathRef:
    parts = path.split(".")
    if item_name is not None and parts[0] == item_name:
        return PathRef(tuple(parts[1:]), from_item=True)
    return PathRef(tuple(parts), from_item=False)


def compile_path(path: str, item_name: str | None = None) -> Getter:
    ref = parse_path(path, item_name)
    if ref.from_item and not ref.keys:
        return _item
    return _walker(ref.keys, from_item=ref.from_item)


def _item(scope: Scope) -> Any:
    return scope.item


def _walker(keys: tuple[str, ...], *, from_item: bool) -> Getter:
    # One, two and three keys cover every path in the shipped mappings; they get unrolled getters.
    if len(keys) == 1:
        (a,) = keys
        if from_item:
            return lambda s: s.item.get(a)
        return lambda s: s.root.get(a)
    if len(keys) == 2:
        a, b = keys
        if from_item:
            return lambda s: None if (v := s.item.get(a)) is None else v.get(b)
        return lambda s: None if (v := s.root.get(a)) is None else v.get(b)

    def walk(scope: Scope) -> Any:
        value: Any = scope.item if from_item else scope.root
        for key in keys:
            if value is None:
                return None
            value = value.get(key)
        return value

    return walk
