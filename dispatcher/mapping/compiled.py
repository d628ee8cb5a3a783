"""The loaded, validated, immutable mapping: what the dispatcher holds and applies.

Everything here was built at load time: paths are getters, transforms are closures, checks are
fused into each field. Applying a mapping to a message therefore does no parsing, no schema
look-ups and no pydantic work, which is what lets one core map tens of thousands of messages a
second.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dispatcher.mapping.conditions import Predicate
from dispatcher.mapping.errors import MappingError
from dispatcher.mapping.model import Owner
from dispatcher.mapping.paths import Getter, Lookup, Scope
from dispatcher.mapping.records import FieldSets, MappedMessage, Operation, RecordShape
from dispatcher.mapping.schema import DeclaredSchema
from dispatcher.mapping.validate import RecordCheck

SKIP: Any = object()
"""Returned by a field whose ``when`` (or every case's) excludes it: the key is left out."""


@dataclass(frozen=True, slots=True)
class CompiledField:
    """One target field: ``key`` is its body key (the relationship name for a parent reference)."""

    target: str
    key: str
    owner: Owner
    compute: Callable[[Scope], Any]
    picklist_values: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CompiledSection:
    """One record (or one per list item, with ``for_each``) of one object type."""

    name: str
    object_name: str
    external_id: CompiledField
    fields: tuple[CompiledField, ...]
    for_each: Getter | None
    for_each_path: str
    when: Predicate | None
    check: RecordCheck
    shape: RecordShape
    references: frozenset[str]  # parent object types this section refers to

    @property
    def field_sets(self) -> FieldSets:
        return self.shape.field_sets


@dataclass(frozen=True, slots=True)
class DestinationMapping:
    """One destination's mapping file, compiled; ``events`` lists sections in dependency order."""

    destination: str
    file: str
    version: str
    schema: DeclaredSchema
    sections: Mapping[str, CompiledSection]
    events: Mapping[str, tuple[CompiledSection, ...]]
    lookup_tables: frozenset[str]

    def apply(
        self, event_type: str, payload: Mapping[str, Any], lookup: Lookup | None = None
    ) -> MappedMessage:
        """The records ``payload`` becomes, validated for the write; raises ``MappingError``."""
        from dispatcher.mapping.apply import map_message

        return map_message(self, event_type, payload, lookup)

    def field_set(self, object_name: str, operation: Operation) -> frozenset[str]:
        """The target fields the writer may send for ``object_name`` on create or on update.

        On update this leaves out fields the destination owns and fields it will not update.
        """
        found: set[str] = set()
        for section in self.sections.values():
            if section.object_name != object_name:
                continue
            allowed = (
                section.field_sets.create
                if operation is Operation.CREATE
                else section.field_sets.update
            )
            for field in (section.external_id, *section.fields):
                if field.key in allowed:
                    found.add(field.target)
        return frozenset(found)


@dataclass(frozen=True, slots=True)
class Mappings:
    """Every destination's mapping from one folder, with one content hash across the files."""

    directory: str
    version: str
    destinations: Mapping[str, DestinationMapping]

    def apply(
        self,
        destination: str,
        event_type: str,
        payload: Mapping[str, Any],
        lookup: Lookup | None = None,
    ) -> MappedMessage:
        mapping = self.destinations.get(destination)
        if mapping is None:
            raise MappingError(
                destination, "", f"no mapping file in {self.directory} for this destination"
            )
        return mapping.apply(event_type, payload, lookup)
