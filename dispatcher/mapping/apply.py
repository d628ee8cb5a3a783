"""Run a compiled mapping over one message payload.

The loop is deliberately plain: sections in dependency order, list sections once per item, and
inside a record one call per field. A field's failure is caught here, where the object, field
and record key are all known, and becomes the ``MappingError`` the message is buried with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dispatcher.mapping.compiled import SKIP, CompiledField, CompiledSection, DestinationMapping
from dispatcher.mapping.errors import MappingError
from dispatcher.mapping.paths import Lookup, Scope
from dispatcher.mapping.records import MappedMessage, MappedRecord
from dispatcher.mapping.transforms import TransformError


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
    item_scopes: dict[str, list[Scope]] = {}  # one scope per list item, shared by sections
    for section in sections:
        if section.for_each is None:
            record = build_record(section, root)
            if record is not None:
                records.append(record)
            continue
        scopes = item_scopes.get(section.for_each_path)
        if scopes is None:
            scopes = item_scopes[section.for_each_path] = _item_scopes(section, root)
        for scope in scopes:
            record = build_record(section, scope)
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


def build_record(section: CompiledSection, scope: Scope) -> MappedRecord | None:
    """One record, or None when the section's ``when`` excludes it."""
    if section.when is not None and not section.when(scope):
        return None
    external = section.external_id
    try:
        key = external.compute(scope)
    except TransformError as exc:
        raise MappingError(section.object_name, external.target, str(exc)) from None
    except (AttributeError, TypeError) as exc:
        raise _shape_error(section, external, exc, None) from None
    if key is None or key is SKIP:
        raise MappingError(section.object_name, external.target, "the external ID has no value")
    fields: dict[str, Any] = {external.key: key}
    for field in section.fields:
        try:
            value = field.compute(scope)
        except TransformError as exc:
            raise MappingError(
                section.object_name, field.target, str(exc), record=str(key)
            ) from None
        except (AttributeError, TypeError) as exc:
            raise _shape_error(section, field, exc, key) from None
        if value is not SKIP:
            fields[field.key] = value
    problem = section.check(fields)
    if problem is not None:
        raise MappingError(section.object_name, problem[0], problem[1], record=str(key))
    return MappedRecord(section.shape, key, fields)


def _shape_error(
    section: CompiledSection, field: CompiledField, exc: Exception, key: Any
) -> MappingError:
    problem = f"the payload does not have the shape the mapping reads ({exc})"
    return MappingError(
        section.object_name, field.target, problem, record=None if key is None else str(key)
    )
