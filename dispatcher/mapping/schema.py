"""The declared schema of a destination: which objects and fields exist, and their limits.

Salesforce's is ``mappings/salesforce_schema.yaml`` (shared with the sandbox, so the two never
disagree). Thinkific has no describe endpoint and a small, stable API, so its schema is declared
here from its public API reference (users, groups, group users, enrollments) in the same shape.
Mappings are checked against the schema at load and every record against it before a write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict

from dispatcher.mapping.document import Document, parse_document, read_document, validate_model
from dispatcher.mapping.errors import MappingIssue


class FieldType(StrEnum):
    ID = "id"
    STRING = "string"
    TEXTAREA = "textarea"
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"
    BOOLEAN = "boolean"
    INT = "int"
    DOUBLE = "double"
    CURRENCY = "currency"
    PERCENT = "percent"
    DATE = "date"
    DATETIME = "datetime"
    PICKLIST = "picklist"
    MULTIPICKLIST = "multipicklist"
    REFERENCE = "reference"


TEXT_TYPES = frozenset(
    {FieldType.STRING, FieldType.TEXTAREA, FieldType.EMAIL, FieldType.PHONE, FieldType.URL}
)
NUMBER_TYPES = frozenset({FieldType.INT, FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT})


class _FieldModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

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
    nillable: bool | None = None
    default: str | bool | None = None
    categories: dict[str, str] = {}


class _ObjectModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: dict[str, _FieldModel]


class _SchemaModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    objects: dict[str, _ObjectModel]


@dataclass(frozen=True, slots=True)
class FieldSchema:
    """One declared field; ``required`` means createable, not nillable, not defaulted.

    ``unique`` and ``calculated`` only describe the field (the Salesforce sandbox serves them);
    mapping checks do not read them.
    """

    name: str
    type: FieldType
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    required: bool = False
    external_id: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    createable: bool = True
    updateable: bool = True
    unique: bool = False
    calculated: bool = False
    nillable: bool = True
    default: str | bool | None = None
    categories: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def defaulted_on_create(self) -> bool:
        """The org fills the field when a create leaves it out (describe's defaultedOnCreate)."""
        return self.default is not None or self.type is FieldType.BOOLEAN or not self.createable

    def category(self, value: Any) -> str | None:
        """The status category of a picklist value (Order.Status: Draft or Activated)."""
        return self.categories.get(str(value)) if value is not None else None


@dataclass(frozen=True, slots=True)
class ObjectSchema:
    name: str
    fields: Mapping[str, FieldSchema]


@dataclass(frozen=True, slots=True)
class DeclaredSchema:
    """A destination's objects; ``source`` names the file (or built-in) for messages and hashes."""

    source: str
    objects: Mapping[str, ObjectSchema]
    content: Any  # the parsed file, for the content hash


def load_schema(path: Path) -> tuple[DeclaredSchema | None, list[MappingIssue]]:
    document, issues = read_document(path)
    return _from_document(document, issues)


def builtin_schema(name: str) -> DeclaredSchema | None:
    """A schema that ships in code (``thinkific``), or None for an unknown name."""
    if name != "thinkific":
        return None
    document, issues = parse_document("<built-in thinkific schema>", _THINKIFIC)
    schema, more = _from_document(document, issues)
    assert not more, more  # a defect in the literal below
    assert schema is not None
    return schema


def _from_document(
    document: Document, issues: list[MappingIssue]
) -> tuple[DeclaredSchema | None, list[MappingIssue]]:
    if issues:
        return None, issues
    model, issues = validate_model(document, _SchemaModel)
    if model is None:
        return None, issues
    objects = {name: _object(name, spec) for name, spec in model.objects.items()}
    return DeclaredSchema(document.file, MappingProxyType(objects), document.data), []


def _object(name: str, spec: _ObjectModel) -> ObjectSchema:
    fields = {
        field_name: FieldSchema(
            name=field_name,
            type=f.type,
            length=f.length,
            precision=f.precision,
            scale=f.scale,
            required=f.required and f.createable,
            external_id=f.external_id,
            picklist=tuple(f.picklist),
            restricted=f.restricted,
            reference_to=tuple(f.reference_to),
            relationship_name=f.relationship_name,
            createable=f.createable and not f.calculated,
            updateable=f.updateable and not f.calculated,
            unique=f.unique,
            calculated=f.calculated,
            nillable=_nillable(f),
            default=False if f.type is FieldType.BOOLEAN and f.default is None else f.default,
            categories=MappingProxyType(dict(f.categories)),
        )
        for field_name, f in spec.fields.items()
    }
    return ObjectSchema(name, MappingProxyType(fields))


def _nillable(f: _FieldModel) -> bool:
    """Describe's ``nillable``: as declared, else false for required fields, booleans and Ids."""
    if f.nillable is not None:
        return f.nillable
    return not f.required and f.type not in (FieldType.BOOLEAN, FieldType.ID)


# Thinkific's public API v1 (users, groups, group_users, enrollments). Thinkific has no upsert:
# "external_id" marks the key the writer looks a record up by before it creates one.
_THINKIFIC = """
version: 1
objects:
  group:
    fields:
      name: {type: string, length: 255, required: true, external_id: true}
  user:
    fields:
      email: {type: email, length: 255, required: true, external_id: true}
      first_name: {type: string, length: 255, required: true}
      last_name: {type: string, length: 255, required: true}
      company: {type: string, length: 255}
      headline: {type: string, length: 255}
      external_id: {type: string, length: 255}
  group_user:
    fields:
      group_name: {type: string, length: 255, required: true, external_id: true}
      user_id: {type: reference, reference_to: [user], relationship_name: user, required: true}
  enrollment:
    fields:
      course_id: {type: int, required: true, external_id: true, updateable: false}
      user_id:
        type: reference
        reference_to: [user]
        relationship_name: user
        required: true
        updateable: false
      activated_at: {type: datetime}
      expiry_date: {type: datetime}
"""
