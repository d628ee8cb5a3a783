"""What a mapped message becomes: records per object, in the order the destination needs them.

Values stay exact inside (``Decimal`` money) so checks and tests see what was meant; ``body``
turns them into JSON-ready values only at the edge. Field ownership lives here because it is a
per-write decision: an update never carries a field the destination owns, nor a field it
refuses to update, and a ``shared`` field only when the message actually has a value for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Operation(StrEnum):
    CREATE = "create"
    UPDATE = "update"


@dataclass(frozen=True, slots=True)
class FieldSets:
    """Body keys a section may send: all of ``create`` on insert; ``update`` on update, where
    keys in ``shared`` are left out when null so a blank never erases an edit made at the
    destination."""

    create: frozenset[str]
    update: frozenset[str]
    shared: frozenset[str]


@dataclass(frozen=True, slots=True)
class RecordShape:
    """What every record of one section shares; built once at load, referenced by each record."""

    object_name: str
    section: str
    external_id_field: str
    field_sets: FieldSets


@dataclass(frozen=True, slots=True)
class MappedRecord:
    """One destination record. ``fields`` is keyed as the body is (a parent reference under its
    relationship name, ``{"Order": {"Storefront_Order_Number__c": "SO-1"}}``) and includes the
    external-ID field."""

    shape: RecordShape
    external_id: Any
    fields: Mapping[str, Any]

    @property
    def object_name(self) -> str:
        return self.shape.object_name

    @property
    def section(self) -> str:
        return self.shape.section

    @property
    def external_id_field(self) -> str:
        return self.shape.external_id_field

    @property
    def field_sets(self) -> FieldSets:
        return self.shape.field_sets

    def body(self, operation: Operation = Operation.CREATE) -> dict[str, Any]:
        """The record's fields for ``operation``, JSON-ready (money as a JSON number)."""
        sets = self.shape.field_sets
        if operation is Operation.CREATE:
            # A new record has nothing to blank: a null would only be sent, never stored.
            return {
                key: _json(value)
                for key, value in self.fields.items()
                if key in sets.create and value is not None
            }
        allowed, shared = sets.update, sets.shared
        return {
            key: _json(value)
            for key, value in self.fields.items()
            if key in allowed and not (value is None and key in shared)
        }


def _json(value: Any) -> Any:
    # float() of a decimal with up to 15 significant digits prints back the same digits, so the
    # JSON text carries the exact amount; larger amounts are refused by the precision check.
    kind = type(value)
    if kind is str or value is None or kind is int or kind is bool:
        return value
    if kind is Decimal or isinstance(value, Decimal):
        return (
            int(value)
            if value == value.to_integral_value() and value.as_tuple().exponent == 0
            else float(value)
        )
    if isinstance(value, dict):
        return {key: _json(inner) for key, inner in value.items()}
    return value


@dataclass(frozen=True, slots=True)
class MappedMessage:
    """All records one message produces, in dependency order (parents before children)."""

    destination: str
    event_type: str
    version: str
    records: tuple[MappedRecord, ...]

    def by_object(self) -> tuple[tuple[str, tuple[MappedRecord, ...]], ...]:
        """Consecutive records of one object type grouped, for per-type batch calls, still in
        dependency order."""
        groups: list[tuple[str, list[MappedRecord]]] = []
        for record in self.records:
            if groups and groups[-1][0] == record.object_name:
                groups[-1][1].append(record)
            else:
                groups.append((record.object_name, [record]))
        return tuple((name, tuple(records)) for name, records in groups)
