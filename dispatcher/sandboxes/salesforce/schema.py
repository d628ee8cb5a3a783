"""The declared org schema (``mappings/salesforce_schema.yaml``) as the sandbox's model of the org.

Describe, validation on write and SOQL all read these specs, so a renamed field or a removed
picklist value (faults) changes every one of them at once. Names are matched case-insensitively,
as Salesforce does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict

from dispatcher.sandboxes.salesforce.ids import STANDARD_PREFIXES, custom_prefix

FieldType = Literal[
    "id", "string", "textarea", "email", "phone", "url", "boolean", "int", "double",
    "currency", "percent", "date", "datetime", "picklist", "reference",
]  # fmt: skip
TEXT_TYPES = frozenset(
    {"id", "string", "textarea", "email", "phone", "url", "picklist", "reference"}
)
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})


class _FieldDeclaration(BaseModel):
    """One field as the YAML declares it; pydantic only here, where the file enters."""

    model_config = ConfigDict(extra="forbid")
    type: FieldType
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    required: bool = False
    external_id: bool = False
    unique: bool = False
    picklist: list[str] = []
    restricted: bool = False
    reference_to: list[str] = []
    relationship_name: str | None = None
    createable: bool = True
    updateable: bool = True
    calculated: bool = False


class _ObjectDeclaration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fields: dict[str, _FieldDeclaration]


class _SchemaDeclaration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int
    objects: dict[str, _ObjectDeclaration]


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
    ("Id", "id"),
    ("IsDeleted", "boolean"),
    ("CreatedDate", "datetime"),
    ("LastModifiedDate", "datetime"),
    ("SystemModstamp", "datetime"),
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
    declared = _SchemaDeclaration.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    objects = []
    custom_index = 0
    for name, declaration in declared.objects.items():
        custom = name.endswith("__c")
        prefix = custom_prefix(custom_index) if custom else STANDARD_PREFIXES[name]
        custom_index += custom
        fields = [_field_spec(n, d) for n, d in declaration.fields.items()]
        fields += _missing_system_fields(declaration.fields)
        objects.append(ObjectSpec(name, prefix, custom, tuple(fields)))
    return Schema(tuple(objects))


def _field_spec(name: str, declared: _FieldDeclaration) -> FieldSpec:
    return FieldSpec(
        name=name,
        storage=name,
        type=declared.type,
        length=declared.length or (18 if declared.type in ("id", "reference") else 0),
        precision=declared.precision or 0,
        scale=declared.scale or 0,
        required=declared.required,
        external_id=declared.external_id,
        unique=declared.unique,
        picklist=tuple(declared.picklist),
        restricted=declared.restricted,
        reference_to=tuple(declared.reference_to),
        relationship_name=declared.relationship_name,
        createable=declared.createable and not declared.calculated,
        updateable=declared.updateable and not declared.calculated,
        calculated=declared.calculated,
        system=name in dict(_SYSTEM_FIELDS),
    )


def _missing_system_fields(declared: dict[str, _FieldDeclaration]) -> list[FieldSpec]:
    return [
        FieldSpec(
            name=name,
            storage=name,
            type=kind,
            length=18 if kind == "id" else 0,
            createable=False,
            updateable=False,
            system=True,
        )
        for name, kind in _SYSTEM_FIELDS
        if name not in declared
    ]
