"""Compare a loaded mapping with what the destination's describe says today.

A Salesforce admin can rename a field, make it read-only, shorten it or retire a picklist
value at any time, and the first sign would otherwise be dead messages. The scheduled drift
check feeds describe results (``GET /sobjects/{T}/describe`` JSON) to ``drift`` and reports
the findings within minutes. The engine does no HTTP: pass describe dicts, or an async fetch.
"""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dispatcher.mapping.compiled import CompiledSection, DestinationMapping
from dispatcher.mapping.schema import DeclaredSchema, FieldSchema, FieldType, ObjectSchema

Describe = Mapping[str, Any]
FetchDescribe = Callable[[str], Awaitable[Describe | None]]
"""``await fetch(object_name)``: the describe JSON, or None when the object does not exist."""


class DriftKind(StrEnum):
    MISSING_OBJECT = "missing_object"
    MISSING_FIELD = "missing_field"
    NOT_CREATEABLE = "not_createable"
    NOT_UPDATEABLE = "not_updateable"
    TYPE_CHANGED = "type_changed"
    LENGTH_SHRANK = "length_shrank"
    PICKLIST_VALUE_GONE = "picklist_value_gone"
    PICKLIST_VALUE_INACTIVE = "picklist_value_inactive"
    REQUIRED_UNMAPPED = "required_unmapped"


@dataclass(frozen=True, slots=True)
class DriftFinding:
    """``blocks``: the sections whose writes the finding makes impossible (a field gone, not
    createable where a section creates with it, not updateable where one updates it, a newly
    required field a creating section leaves out). Their messages are dead-lettered naming the
    field until the mapping or the org is fixed; other findings are warnings."""

    object_name: str
    field: str
    kind: DriftKind
    detail: str
    blocks: tuple[str, ...] = ()

    def __str__(self) -> str:
        blocked = f" (blocks {', '.join(self.blocks)})" if self.blocks else ""
        return f"{self.object_name}.{self.field}: {self.kind}: {self.detail}{blocked}"


@dataclass
class _Use:
    """How the mapping uses one target field, merged over every section that maps it."""

    declared: FieldSchema
    create: bool = False
    update: bool = False
    values: set[str] = field(default_factory=set)
    creating: set[str] = field(default_factory=set)  # sections that create with it
    updating: set[str] = field(default_factory=set)  # sections that update it


def drift(
    mapping: DestinationMapping, describes: Mapping[str, Describe]
) -> tuple[DriftFinding, ...]:
    """Findings for every object the mapping writes; ``describes`` is keyed by object name."""
    findings: list[DriftFinding] = []
    for object_name, uses in _uses(mapping).items():
        describe = describes.get(object_name)
        if describe is None:
            detail = "the describe has no such object; it was deleted, renamed or is not visible"
            blocks = tuple(sorted({s for u in uses.values() for s in u.creating | u.updating}))
            findings.append(DriftFinding(object_name, "", DriftKind.MISSING_OBJECT, detail, blocks))
            continue
        live = {str(f["name"]).lower(): f for f in describe.get("fields", [])}
        for name, use in sorted(uses.items()):
            found = live.get(name.lower())
            if found is None:
                declared = mapping.schema.objects[object_name].fields
                findings.append(_missing(object_name, use, live, declared))
            else:
                findings.extend(_compare(object_name, use, found))
        findings.extend(_newly_required(mapping, object_name, live))
    return tuple(findings)


async def fetch_describes(objects: Iterable[str], fetch: FetchDescribe) -> dict[str, Describe]:
    """Describe results for ``objects`` through the caller's fetch (one call per object)."""
    found: dict[str, Describe] = {}
    for name in sorted(set(objects)):
        describe = await fetch(name)
        if describe is not None:
            found[name] = describe
    return found


async def check_drift(
    mapping: DestinationMapping, fetch: FetchDescribe
) -> tuple[DriftFinding, ...]:
    objects = {section.object_name for section in mapping.sections.values()}
    return drift(mapping, await fetch_describes(objects, fetch))


def _uses(mapping: DestinationMapping) -> dict[str, dict[str, _Use]]:
    uses: dict[str, dict[str, _Use]] = {}
    for section in mapping.sections.values():
        declared = mapping.schema.objects[section.object_name].fields
        per_object = uses.setdefault(section.object_name, {})
        for mapped in (section.external_id, *section.fields):
            use = per_object.setdefault(mapped.target, _Use(declared[mapped.target]))
            if mapped.key in section.field_sets.create and not section.update_only:
                use.create = True
                use.creating.add(section.name)
            if mapped.key in section.field_sets.update and mapped is not section.external_id:
                use.update = True
                use.updating.add(section.name)
            use.values |= mapped.picklist_values
    return uses


def _missing(
    object_name: str, use: _Use, live: Mapping[str, Any], declared: Iterable[str]
) -> DriftFinding:
    """A field gone from the describe; a new undeclared field of the same type is the likely
    new name, and naming it saves the operator a trip through Setup."""
    known = {name.lower() for name in declared}
    candidates = [
        key
        for key, spec in live.items()
        if key not in known and spec.get("type") == use.declared.type.value
    ]
    close = difflib.get_close_matches(use.declared.name.lower(), candidates, n=1, cutoff=0.3)
    hint = f"; renamed to {live[close[0]]['name']}?" if close else ""
    detail = f"the field no longer exists{hint}"
    blocks = tuple(sorted(use.creating | use.updating))
    return DriftFinding(object_name, use.declared.name, DriftKind.MISSING_FIELD, detail, blocks)


def _compare(object_name: str, use: _Use, live: Mapping[str, Any]) -> list[DriftFinding]:
    declared = use.declared
    found: list[tuple[DriftKind, str]] = []
    if use.create and not live.get("createable", True):
        found.append(
            (DriftKind.NOT_CREATEABLE, "the mapping creates with it; it is no longer createable")
        )
    if use.update and not live.get("updateable", True):
        found.append(
            (DriftKind.NOT_UPDATEABLE, "the mapping updates it; it is no longer updateable")
        )
    if live.get("type") != declared.type.value:
        found.append((DriftKind.TYPE_CHANGED, f"declared {declared.type}, now {live.get('type')}"))
    length = live.get("length") or 0
    if declared.length is not None and 0 < length < declared.length:
        found.append(
            (DriftKind.LENGTH_SHRANK, f"declared {declared.length} characters, now {length}")
        )
    found.extend(_picklist(use.values, live, declared))
    blocked = {
        DriftKind.NOT_CREATEABLE: tuple(sorted(use.creating)),
        DriftKind.NOT_UPDATEABLE: tuple(sorted(use.updating)),
    }
    return [
        DriftFinding(object_name, declared.name, kind, detail, blocked.get(kind, ()))
        for kind, detail in found
    ]


def _picklist(
    values: Iterable[str], live: Mapping[str, Any], declared: FieldSchema
) -> list[tuple[DriftKind, str]]:
    """Only a restricted picklist refuses a value it does not list (describe
    ``restrictedPicklist``); an unrestricted one saves any value, so a value it never had (a
    standard org's Account.Type has no "Household") is no finding. The detail says what the
    describe showed: a value the declared schema listed is gone, any other was never there."""
    if not live.get("restrictedPicklist", declared.restricted):
        return []
    entries = {
        str(p.get("value")): bool(p.get("active", True)) for p in live.get("picklistValues") or []
    }
    found = []
    for value in sorted(values):
        if value not in entries:
            had = "no longer has it" if value in declared.picklist else "has no such value"
            found.append(
                (DriftKind.PICKLIST_VALUE_GONE, f"the mapping writes {value!r}; the picklist {had}")
            )
        elif not entries[value]:
            found.append(
                (DriftKind.PICKLIST_VALUE_INACTIVE, f"the mapping writes {value!r}; it is inactive")
            )
    return found


def _newly_required(
    mapping: DestinationMapping, object_name: str, live: Mapping[str, Any]
) -> list[DriftFinding]:
    """Fields the org now requires on create that some section of this object leaves out."""
    sections = [
        s for s in mapping.sections.values() if s.object_name == object_name and not s.update_only
    ]
    findings = []
    for key, spec in sorted(live.items()):
        if not _required(spec):
            continue
        missing = [s.name for s in sections if not _maps(s, key)]
        if missing:
            detail = f"the org requires it on create; not mapped in {', '.join(missing)}"
            findings.append(
                DriftFinding(
                    object_name,
                    str(spec["name"]),
                    DriftKind.REQUIRED_UNMAPPED,
                    detail,
                    tuple(missing),
                )
            )
    return findings


def _required(spec: Mapping[str, Any]) -> bool:
    flags = (
        spec.get("createable", True),
        spec.get("nillable", True),
        spec.get("defaultedOnCreate", False),
    )
    return bool(flags[0]) and not flags[1] and not flags[2]


def _maps(section: CompiledSection, lowered: str) -> bool:
    return any(f.target.lower() == lowered for f in (section.external_id, *section.fields))


def describe_from_schema(schema: DeclaredSchema) -> dict[str, dict[str, Any]]:
    """Describe JSON as Salesforce would answer it for the declared schema (tests, sandbox)."""
    return {name: _describe_object(obj) for name, obj in schema.objects.items()}


def _describe_object(obj: ObjectSchema) -> dict[str, Any]:
    return {
        "name": obj.name,
        "label": obj.name.removesuffix("__c").replace("_", " "),
        "custom": obj.name.endswith("__c"),
        "createable": True,
        "updateable": True,
        "fields": [_describe_field(f) for f in obj.fields.values()],
    }


def _describe_field(f: FieldSchema) -> dict[str, Any]:
    return {
        "name": f.name,
        "label": f.name.removesuffix("__c").replace("_", " "),
        "type": f.type.value,
        "length": f.length or 0,
        "precision": f.precision or 0,
        "scale": f.scale or 0,
        "nillable": f.nillable,
        "createable": f.createable,
        "updateable": f.updateable,
        "defaultedOnCreate": f.defaulted_on_create or f.type is FieldType.ID,
        "calculated": not f.createable and not f.updateable and f.type is not FieldType.ID,
        "unique": f.external_id,
        "externalId": f.external_id,
        "idLookup": f.external_id or f.type is FieldType.ID,
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name,
        "restrictedPicklist": f.restricted,
        "picklistValues": [
            {"value": v, "label": v, "active": True, "defaultValue": False, "validFor": None}
            for v in f.picklist
        ],
    }
