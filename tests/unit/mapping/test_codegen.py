"""The generated section functions agree with the transforms and checks they inline.

A section runs as generated source (``codegen.py``) with fast paths for common transforms and
checks; these properties hold each fast path to the plain function it stands for, and show that
text from a mapping file only ever reaches the source as a literal.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from dispatcher.mapping import DestinationMapping, MappingError, load
from dispatcher.mapping.paths import Scope
from dispatcher.mapping.schema import FieldSchema, FieldType
from dispatcher.mapping.steps import build_step
from dispatcher.mapping.transforms import StepContext, TransformError
from dispatcher.mapping.validate import GUARD_NAMES, check_guard, field_check
from tests.unit.mapping.conftest import MAPPINGS

TRANSFORMS: dict[str, tuple[str, Any]] = {
    "trim": ("trim", None),
    "upper": ("upper", None),
    "lower": ("lower", None),
    "title": ("title", None),
    "string": ("string", None),
    "truncate": ("truncate", 7),
    "prefix": ("prefix", "a'\"{v}}{\\n"),
    "chain": ("trim", None),  # followed by lower and truncate: one null test, three inlines
}

values = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.text(alphabet=" \t\nAbÇßﬁ{}'\"", max_size=12),
    st.integers(),
    st.booleans(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.floats(allow_nan=False),
    st.lists(st.integers(), max_size=2),
)


def _mapping(tmp: Path) -> DestinationMapping:
    """One Order section per transform, each mapping customer.first_name to Description."""
    objects = {}
    for name, (transform, arg) in TRANSFORMS.items():
        step = transform if arg is None else {transform: arg}
        objects[name] = {
            "object": "Order",
            "external_id": {"field": "Storefront_Order_Number__c", "from": "order.number"},
            "fields": {
                "AccountId": {
                    "ref": {"object": "Account", "field": "Storefront_Account_Id__c"},
                    "from": "customer.id",
                },
                "EffectiveDate": {"value": "2026-11-25"},
                "Status": {"value": "Draft"},
                "Description": {
                    "from": "customer.first_name",
                    "transforms": [step, "lower", "truncate"] if name == "chain" else [step],
                },
            },
        }
    document = {
        "version": 1,
        "destination": "salesforce",
        "schema": "salesforce_schema.yaml",
        "objects": objects,
        "events": {"order.placed": list(TRANSFORMS)},
    }
    shutil.copy(MAPPINGS / "salesforce_schema.yaml", tmp / "salesforce_schema.yaml")
    (tmp / "salesforce.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    return load(tmp).destinations["salesforce"]


@pytest.fixture(scope="module")
def mapping(tmp_path_factory: pytest.TempPathFactory) -> DestinationMapping:
    return _mapping(tmp_path_factory.mktemp("codegen"))


def _expected(name: str, value: Any) -> Any:
    """What the plain steps and the field's check make of ``value``: a value or a problem."""
    transform, arg = TRANSFORMS[name]
    context = StepContext(32000, {})
    chain = [(transform, arg)] + ([("lower", None), ("truncate", None)] if name == "chain" else [])
    try:
        for step, argument in chain:
            value = build_step(step, argument, context)(value, Scope({}, None, None))
    except TransformError as exc:
        return ("error", str(exc))
    problem = field_check(FieldSchema("Description", FieldType.TEXTAREA, length=32000))(value)
    return ("error", problem) if problem is not None else value


@given(value=values)
def test_codegen_inline_transforms_agree_with_the_steps(
    mapping: DestinationMapping, value: Any
) -> None:
    payload = {
        "customer": {"id": "c-1", "first_name": value},
        "order": {"number": "SO-1"},
    }
    refused = [e for n in TRANSFORMS if isinstance(e := _expected(n, value), tuple)]
    if refused:  # the first section whose steps refuse the value says why
        with pytest.raises(MappingError) as caught:
            mapping.apply("order.placed", payload)
        assert (caught.value.field, caught.value.problem) == ("Description", refused[0][1])
        return
    records = mapping.apply("order.placed", payload).records
    for name, record in zip(TRANSFORMS, records, strict=True):
        assert record.fields["Description"] == _expected(name, value), name


def test_codegen_prefix_text_reaches_the_record_as_written(mapping: DestinationMapping) -> None:
    payload = {"customer": {"id": "c-1", "first_name": "x"}, "order": {"number": "SO-1"}}
    records = {r.section: r for r in mapping.apply("order.placed", payload).records}
    assert records["prefix"].fields["Description"] == "a'\"{v}}{\\nx"
    assert records["truncate"].fields["Description"] == "x"


SCHEMAS = [
    FieldSchema("Name", FieldType.STRING, length=5),
    FieldSchema("Notes", FieldType.TEXTAREA),
    FieldSchema("Status", FieldType.PICKLIST, picklist=("A", "B"), restricted=True),
    FieldSchema("Open", FieldType.PICKLIST, picklist=("A",), length=3),
    FieldSchema("Count", FieldType.INT, precision=3),
    FieldSchema("Total", FieldType.CURRENCY, precision=6, scale=2),
    FieldSchema("Rate", FieldType.PERCENT),
    FieldSchema("Flag", FieldType.BOOLEAN),
    FieldSchema("Day", FieldType.DATE),
    FieldSchema("Parent", FieldType.REFERENCE, length=18),
]


@pytest.mark.parametrize("field", SCHEMAS, ids=lambda f: f.name)
@given(value=values.filter(lambda v: v is not None))
def test_check_guard_passes_only_what_the_check_passes(field: FieldSchema, value: Any) -> None:
    guard = check_guard(field)
    if guard is None:
        return
    passes = eval(guard.format(v="value"), {**GUARD_NAMES, "value": value})
    if passes:
        assert field_check(field)(value) is None


def test_check_guard_lets_the_common_values_through() -> None:
    cases = [(SCHEMAS[0], "abc"), (SCHEMAS[4], 999), (SCHEMAS[5], Decimal("9999.99"))]
    for field, value in cases:
        guard = check_guard(field)
        assert guard is not None
        assert eval(guard.format(v="value"), {**GUARD_NAMES, "value": value})
    assert check_guard(SCHEMAS[2]) is None  # a restricted picklist always runs the check
