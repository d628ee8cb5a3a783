"""Run a compiled mapping over one message payload.

Sections run in dependency order; a list section once per item, with one scope per item shared
by every section that iterates the same list. Each section's generated function builds, checks
and returns its record, or raises the ``MappingError`` the message is buried with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dispatcher.mapping.compiled import CompiledSection, DestinationMapping
from dispatcher.mapping.errors import MappingError
from dispatcher.mapping.paths import Lookup, Scope
from dispatcher.mapping.records import MappedMessage, MappedRecord


def map_message(
    mapping: DestinationMapping,
    event_type: str,
    payload: Mapping[str, Any],
    lookup: Lookup | None,
) -> MappedMessage:
    sections = mapping.events.get(event_type)
    if sections is None:
        raise MappingError(event_type, "", f"{mapping.file} has no mapping for this event type")
    if type(payload) is not dict and not isinstance(payload, Mapping):
        raise MappingError(event_type, "", f"the payload is not a JSON object: {payload!r:.80}")
    root = Scope(payload, None, lookup)
    records: list[MappedRecord] = []
    item_scopes: dict[str, list[Scope]] = {}
    for section in sections:
        if section.for_each is None:
            record = section.build(root)
            if record is not None:
                records.append(record)
            continue
        scopes = item_scopes.get(section.for_each_path)
        if scopes is None:
            scopes = item_scopes[section.for_each_path] = _item_scopes(section, root)
        build = section.build
        for scope in scopes:
            record = build(scope)
            if record is not None:
                records.append(record)
    return MappedMessage(mapping.destination, event_type, mapping.version, tuple(records))


def _item_scopes(section: CompiledSection, root: Scope) -> list[Scope]:
    assert section.for_each is not None
    items = section.for_each(root)
    if items is None:
        return []
    if not isinstance(items, list) or not all(
        type(i) is dict or isinstance(i, Mapping) for i in items
    ):
        raise MappingError(
            section.object_name, "", "for_each expects a list of objects in the payload"
        )
    return [Scope(root.root, item, root.lookup) for item in items]
