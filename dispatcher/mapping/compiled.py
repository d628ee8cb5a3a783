"""The loaded, validated, immutable mapping: what the dispatcher holds and applies.

Everything here was built at load time: paths are parsed, transforms are closures, and each
section is one generated function (``codegen.py``) that reads the payload, converts, checks and
assembles its record without interpreting the mapping. Applying a mapping to a message
therefore does no parsing, no schema look-ups and no pydantic work.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dispatcher.mapping.conditions import Conditions, Test
from dispatcher.mapping.errors import MappingError
from dispatcher.mapping.model import Owner
from dispatcher.mapping.paths import Getter, Lookup, PathRef, Scope
from dispatcher.mapping.records import (
    FieldSets,
    MappedMessage,
    MappedRecord,
    Operation,
    RecordShape,
)
from dispatcher.mapping.schema import DeclaredSchema
from dispatcher.mapping.steps import BuiltStep
from dispatcher.mapping.validate import Check

SKIP: Any = object()
"""The value of a field whose ``when`` (or every case's) excludes it: the key is left out."""


@dataclass(frozen=True, slots=True)
class CompiledCase:
    """One way to produce a field's value: read ``source`` (a path, several paths, or None for
    ``constant``), fall back to ``default`` when null, then run ``steps`` in order. A step with
    a converter is a plain conversion, skipped for null."""

    when: Conditions
    source: PathRef | tuple[PathRef, ...] | None
    constant: Any
    default: Any
    steps: tuple[BuiltStep, ...]


@dataclass(frozen=True, slots=True)
class CompiledField:
    """One target field: ``key`` is its body key (the relationship name for a parent reference,
    whose value is then wrapped as ``{relationship: value}``). The first case whose ``when``
    holds gives the value; ``check`` is None when load proved every value fits, and ``guard``
    is ``validate.check_guard``'s template for it."""

    target: str
    key: str
    owner: Owner
    cases: tuple[CompiledCase, ...]
    check: Check | None
    guard: str | None
    relationship: str | None
    picklist_values: frozenset[str] = frozenset()

    @property
    def may_skip(self) -> bool:
        """True when no case applies unconditionally, so the field may be left out."""
        return all(case.when for case in self.cases)


@dataclass(frozen=True, slots=True)
class RecordRule:
    """A business rule on a mapped field, by target name and body key."""

    target: str
    key: str
    test: Test
    problem: str


Builder = Callable[[Scope], MappedRecord | None]


@dataclass(frozen=True, slots=True)
class CompiledSection:
    """One record (or one per list item, with ``for_each``) of one object type. ``build`` makes
    the record from a scope, or None when ``when`` excludes it; it raises ``MappingError``."""

    name: str
    object_name: str
    external_id: CompiledField
    fields: tuple[CompiledField, ...]
    for_each: Getter | None
    for_each_path: str
    when: Conditions
    required: tuple[CompiledField, ...]
    update_only: bool  # never creates: no field is required, drift asks for none
    rules: tuple[RecordRule, ...]
    shape: RecordShape
    references: frozenset[str]  # parent object types this section refers to
    build: Builder

    @property
    def field_sets(self) -> FieldSets:
        return self.shape.field_sets


@dataclass(frozen=True, slots=True)
class InboundField:
    field: str
    column: str
    owner: Owner  # STOREFRONT, SHARED or SALESFORCE


@dataclass(frozen=True, slots=True)
class InboundMapping:
    name: str
    object_name: str
    key_field: str
    into: str
    key_prefix: str
    conflict_winner: str
    fields: tuple[InboundField, ...]

    def soql_fields(self) -> tuple[str, ...]:
        return (self.key_field, *(f.field for f in self.fields))


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
    # Salesforce fields read back into storefront columns (``inbound:``; dispatcher.mapping.inbound)
    inbound: Mapping[str, InboundMapping] = dataclasses.field(default_factory=dict)

    def apply(
        self, event_type: str, payload: Mapping[str, Any], lookup: Lookup | None = None
    ) -> MappedMessage:
        """The records ``payload`` becomes, validated for the write; raises ``MappingError``."""
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


# Applying a compiled mapping: sections run in dependency order; a list section once per item,
# with one scope per item shared by every section that iterates the same list. Each section's
# generated function builds, checks and returns its record, or raises the ``MappingError`` the
# message is buried with.


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
