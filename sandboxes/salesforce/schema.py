"""The declared org schema (``mappings/salesforce_schema.yaml``) as the sandbox's model of the org.

The file is read and checked by the mapping engine's loader (``dispatcher.mapping.schema``), so
the sandbox and the mappings share one definition of its shape; this module only turns the
declared fields into the org's (storage keys, system fields, labels). Describe, validation on
write and SOQL all read these specs, so a renamed field or a removed picklist value (faults)
changes every one of them at once. Names are matched case-insensitively, as Salesforce does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from dispatcher.mapping.errors import MappingConfigError
from dispatcher.mapping.schema import NUMBER_TYPES, FieldSchema, FieldType
from dispatcher.mapping.schema import TEXT_TYPES as _MAPPING_TEXT_TYPES
from dispatcher.mapping.schema import load_schema as load_declared_schema
from sandboxes.salesforce.ids import STANDARD_PREFIXES, custom_prefix

__all__ = ["NUMBER_TYPES", "TEXT_TYPES", "FieldSpec", "ObjectSpec", "Schema", "load_schema"]

# Values a write carries as JSON strings, length-checked: the mapping's text types and more.
TEXT_TYPES = _MAPPING_TEXT_TYPES | {
    FieldType.ID, FieldType.PICKLIST, FieldType.MULTIPICKLIST, FieldType.REFERENCE,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A field; ``storage`` is the key records keep it under, so a rename leaves data in place."""

    name: str
    storage: str
    type: FieldType
    length: int = 0
    precision: int = 0
    scale: int = 0
    required: bool = False
    external_id: bool = False
    unique: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    createable: bool = True
    updateable: bool = True
    calculated: bool = False
    system: bool = False
    nillable: bool = True
    default: str | bool | None = None
    categories: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def defaulted_on_create(self) -> bool:
        return self.default is not None or self.system or not self.createable

    def category(self, value: object) -> str | None:
        return self.categories.get(str(value)) if value is not None else None

    @property
    def label(self) -> str:
        """Salesforce-like label: ``Storefront_Account_Id__c`` → ``Storefront Account Id``."""
        base = self.name.removesuffix("__c").replace("_", " ")
        spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", base)
        return re.sub(r" Id$", " ID", spaced) if not self.name.endswith("__c") else spaced


@dataclass(frozen=True, slots=True)
class ObjectSpec:
    name: str
    key_prefix: str
    custom: bool
    fields: tuple[FieldSpec, ...]
    _by_name: dict[str, FieldSpec] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({spec.name.lower(): spec for spec in self.fields})

    def field(self, name: str) -> FieldSpec | None:
        return self._by_name.get(name.lower())

    def relationship(self, name: str) -> FieldSpec | None:
        """The reference field behind a relationship name (``Account``, ``Contact__r``)."""
        lowered = name.lower()
        for spec in self.fields:
            if spec.relationship_name and spec.relationship_name.lower() == lowered:
                return spec
        return None

    def external_ids(self) -> tuple[FieldSpec, ...]:
        return tuple(spec for spec in self.fields if spec.external_id)

    @property
    def label(self) -> str:
        return self.name.removesuffix("__c").replace("_", " ")


# Every real sObject carries these; the declared schema lists them only where a mapping uses them.
_SYSTEM_FIELDS: tuple[tuple[str, FieldType], ...] = (
    ("Id", FieldType.ID),
    ("IsDeleted", FieldType.BOOLEAN),
    ("CreatedDate", FieldType.DATETIME),
    ("LastModifiedDate", FieldType.DATETIME),
    ("SystemModstamp", FieldType.DATETIME),
    ("LastModifiedById", FieldType.ID),
)


@dataclass(frozen=True, slots=True)
class Schema:
    objects: tuple[ObjectSpec, ...]

    def get(self, name: str) -> ObjectSpec | None:
        lowered = name.lower()
        return next((spec for spec in self.objects if spec.name.lower() == lowered), None)

    def by_prefix(self, record_id: str) -> ObjectSpec | None:
        return next((spec for spec in self.objects if record_id.startswith(spec.key_prefix)), None)

    def with_field_renamed(self, sobject: str, old: str, new: str) -> Schema:
        """The org after an admin renamed a field: same data, a new API name."""
        return self._with_field(sobject, old, lambda spec: replace(spec, name=new))

    def without_picklist_value(self, sobject: str, field_name: str, value: str) -> Schema:
        def drop(spec: FieldSpec) -> FieldSpec:
            return replace(spec, picklist=tuple(v for v in spec.picklist if v != value))

        return self._with_field(sobject, field_name, drop)

    def _with_field(
        self, sobject: str, field_name: str, change: Callable[[FieldSpec], FieldSpec]
    ) -> Schema:
        target = self.get(sobject)
        spec = target.field(field_name) if target else None
        if target is None or spec is None:
            raise KeyError(f"{sobject}.{field_name} is not in the schema")
        fields = tuple(change(f) if f is spec else f for f in target.fields)
        changed = ObjectSpec(target.name, target.key_prefix, target.custom, fields)
        return Schema(tuple(changed if o is target else o for o in self.objects))


def load_schema(path: Path) -> Schema:
    """The org the file declares; a file the mapping loader refuses is refused here too."""
    declared, issues = load_declared_schema(path)
    if declared is None:
        raise MappingConfigError(issues)
    objects = []
    custom_index = 0
    for name, declaration in declared.objects.items():
        custom = name.endswith("__c")
        prefix = custom_prefix(custom_index) if custom else STANDARD_PREFIXES[name]
        custom_index += custom
        fields = [_field_spec(spec) for spec in declaration.fields.values()]
        fields += _missing_system_fields(declaration.fields)
        objects.append(ObjectSpec(name, prefix, custom, tuple(fields)))
    return Schema(tuple(objects))


def _field_spec(declared: FieldSchema) -> FieldSpec:
    """``createable``/``updateable`` arrive already false for calculated fields."""
    kind = declared.type
    return FieldSpec(
        name=declared.name,
        storage=declared.name,
        type=kind,
        length=declared.length or (18 if kind in (FieldType.ID, FieldType.REFERENCE) else 0),
        precision=declared.precision or 0,
        scale=declared.scale or 0,
        required=declared.required,
        external_id=declared.external_id,
        unique=declared.unique,
        picklist=declared.picklist,
        restricted=declared.restricted,
        reference_to=declared.reference_to,
        relationship_name=declared.relationship_name,
        createable=declared.createable,
        updateable=declared.updateable,
        calculated=declared.calculated,
        system=declared.name in dict(_SYSTEM_FIELDS),
        nillable=declared.nillable,
        default=declared.default,
        categories=declared.categories,
    )


def _missing_system_fields(declared: Mapping[str, FieldSchema]) -> list[FieldSpec]:
    return [
        FieldSpec(
            name=name,
            storage=name,
            type=kind,
            length=18 if kind is FieldType.ID else 0,
            createable=False,
            updateable=False,
            system=True,
            nillable=kind is not FieldType.BOOLEAN and name != "Id",
        )
        for name, kind in _SYSTEM_FIELDS
        if name not in declared
    ]
