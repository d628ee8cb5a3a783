"""The mapping file format, as pydantic models: the trust boundary between YAML and code.

Only the loader touches these; they are compiled at once into frozen closures (``compiled.py``),
so no pydantic work happens per message. ``extra="forbid"`` everywhere turns a misspelt key into
an error with its line instead of a silently ignored setting. docs/mappings.md is the reference.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dispatcher.mapping.transforms import value_key


class Owner(StrEnum):
    """Which system masters a field that both edit; decides whether an update may send it.
    A destination (``salesforce``, ``thinkific``) owning a field gets it on create only."""

    STOREFRONT = "storefront"
    SALESFORCE = "salesforce"
    THINKIFIC = "thinkific"
    SHARED = "shared"


DESTINATION_OWNERS = frozenset({Owner.SALESFORCE, Owner.THINKIFIC})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


_OPERATORS = ("present", "equals", "not_equals", "in", "not_in", "gt", "gte", "lt", "lte")


class _Test(_Strict):
    """One operator; the subclasses say what it tests (a payload path or a record field)."""

    present: bool | None = None
    equals: Any = None
    not_equals: Any = None
    in_: list[Any] | None = Field(None, alias="in")
    not_in: list[Any] | None = None
    gt: Decimal | None = None
    gte: Decimal | None = None
    lt: Decimal | None = None
    lte: Decimal | None = None

    @model_validator(mode="after")
    def _one_operator(self) -> _Test:
        given = [name for name in _OPERATORS if self._given(name)]
        if len(given) != 1:
            raise ValueError(f"give exactly one operator of {', '.join(_OPERATORS)}; got {given}")
        return self

    def _given(self, name: str) -> bool:
        attribute = "in_" if name == "in" else name
        return attribute in self.model_fields_set

    def operator(self) -> tuple[str, Any]:
        for name in _OPERATORS:
            if self._given(name):
                return name, getattr(self, "in_" if name == "in" else name)
        raise AssertionError("validated to have one operator")


class Condition(_Test):
    path: str


class Rule(_Test):
    """A business rule on the mapped record: the record must satisfy it, or the message is dead."""

    field: str
    problem: str


class Step(_Strict):
    name: str
    arg: Any = None


def _steps(value: Any) -> Any:
    """``[trim, {truncate: 40}]`` -> steps; a dict with several keys is left for pydantic."""
    if not isinstance(value, list):
        return value
    steps: list[Any] = []
    for item in value:
        if isinstance(item, str):
            steps.append({"name": item})
        elif isinstance(item, dict) and len(item) == 1:
            ((name, arg),) = item.items()
            steps.append({"name": name, "arg": arg})
        else:
            steps.append({"name": item})  # refused with the item's line
    return steps


class Case(_Strict):
    """Where a value comes from and what is done to it; ``when`` gates it."""

    from_: str | list[str] | None = Field(None, alias="from")
    value: Any = None
    default: Any = None
    transforms: list[Step] = []
    when: list[Condition] = []

    _when = field_validator("when", mode="before")(_as_list)
    _transforms = field_validator("transforms", mode="before")(_steps)

    @model_validator(mode="after")
    def _one_source(self) -> Case:
        if self.from_ is not None and "value" in self.model_fields_set:
            raise ValueError("give either from or value, not both")
        return self


class Reference(_Strict):
    object: str
    field: str


class FieldSpec(Case):
    """``create_only`` fields are sent when the record is created and never in an update body
    (an Order's account and price book, an order product's price: locked once activated)."""

    owner: Owner = Owner.STOREFRONT
    create_only: bool = False
    ref: Reference | None = None
    cases: list[Case] = []

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"from": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _cases_alone(self) -> FieldSpec:
        plain = {"from_", "value", "default", "transforms", "when"} & self.model_fields_set
        if self.cases and plain:
            raise ValueError(f"give cases or {', '.join(sorted(plain))}, not both")
        return self


class ExternalId(Case):
    field: str


class Section(_Strict):
    """``update_only`` sections change a record that already exists (a profile change): a
    required field may be left out, since a field the message does not change is not sent."""

    object: str
    external_id: ExternalId
    update_only: bool = False
    for_each: str | None = None
    as_: str = Field("item", alias="as")
    when: list[Condition] = []
    fields: dict[str, FieldSpec] = {}
    rules: list[Rule] = []

    _when = field_validator("when", mode="before")(_as_list)


class ValueMapSpec(_Strict):
    values: dict[str, str]
    default: str | None = None
    locale_from: str | None = None
    locales: dict[str, dict[str, str]] = {}

    @field_validator("values", mode="before")
    @classmethod
    def _keys(cls, value: Any) -> Any:
        return {value_key(k): v for k, v in value.items()} if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _locale_source(self) -> ValueMapSpec:
        if self.locales and not self.locale_from:
            raise ValueError("locales need locale_from: the payload path of the locale")
        return self

    @field_validator("locales", mode="before")
    @classmethod
    def _locale_keys(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {
            str(locale): {value_key(k): v for k, v in table.items()}
            if isinstance(table, dict)
            else table
            for locale, table in value.items()
        }


class InboundSection(_Strict):
    """A Salesforce object read back into a storefront table (``inbound:``). Which side owns
    each field is what the outbound sections say (``owner``); a field they do not map is
    Salesforce's."""

    object: str
    key: str  # the external-ID field whose value names the storefront row
    into: Literal["customers", "organisations"]
    key_prefix: str = ""  # only records whose key starts with this (business Accounts: org:)
    # Who keeps a shared field both sides changed since the last sync; the other value is
    # recorded as a conflict.
    conflict_winner: Literal["storefront", "salesforce"] = "storefront"
    fields: dict[str, str]  # Salesforce field -> storefront column


class MappingFile(_Strict):
    version: Literal[1]
    # The destinations a mapping can serve; any other name (a typo such as ``xsalesforce``)
    # would be loaded and never used.
    destination: Literal["salesforce", "thinkific"]
    schema_: str = Field(alias="schema")
    value_maps: dict[str, ValueMapSpec] = {}
    objects: dict[str, Section]
    events: dict[str, list[str]]
    inbound: dict[str, InboundSection] = {}
