"""Properties of the transforms: conversions round-trip, limits hold, maps are total or fail."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatcher.mapping.paths import Scope
from dispatcher.mapping.steps import StepBuildError, build_step
from dispatcher.mapping.transforms import (
    StepContext,
    TransformError,
    ValueMap,
    split_name,
    to_bool,
    to_date,
    to_datetime,
    to_decimal,
    to_int,
)

SCOPE = Scope({}, None, None)
money = st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False)
word = st.text(alphabet=st.characters(categories=["L"]), min_size=1, max_size=12)


def run(name: str, value: Any, arg: Any = None, length: int | None = None) -> Any:
    return build_step(name, arg, StepContext(length, {}))(value, SCOPE)


@given(money)
def test_decimal_money_round_trips_through_text(amount: Decimal) -> None:
    assert to_decimal(str(amount), 2) == amount
    assert str(to_decimal(str(amount), 2)) == str(amount.quantize(Decimal("0.01")))


@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_decimal_pads_whole_numbers_to_the_scale(number: int) -> None:
    assert str(to_decimal(number, 2)) == f"{number}.00"


def test_decimal_refuses_extra_places_and_text() -> None:
    with pytest.raises(TransformError, match="more than 2 decimal places"):
        to_decimal("1.005", 2)
    assert to_decimal("1.500", 2) == Decimal("1.50")
    for bad in ("abc", True, "NaN", None):
        with pytest.raises(TransformError):
            to_decimal(bad, 2)


@given(st.text(max_size=60), st.integers(min_value=0, max_value=40))
def test_truncate_never_exceeds_the_length(text: str, length: int) -> None:
    assert len(run("truncate", text, arg=length)) <= length
    assert len(run("truncate", text, length=length)) <= length
    assert text.startswith(run("truncate", text, length=length))


@given(word, word)
def test_split_name_inverts_join_on_simple_names(first: str, last: str) -> None:
    full = run("join", [first, last])
    assert split_name(full) == (first, last)
    assert run("split_name", full, arg="first") == first
    assert run("split_name", full, arg="last") == last


def test_join_skips_missing_parts_and_first_takes_the_first_present() -> None:
    assert run("join", [" Ada ", None, "", "Lovelace"]) == "Ada Lovelace"
    assert run("join", [None, ""]) is None
    assert run("first", [None, "", "c-42", "x"]) == "c-42"


@given(st.datetimes(timezones=st.just(UTC)))
def test_datetime_is_utc_with_milliseconds(moment: datetime) -> None:
    text = to_datetime(moment.isoformat())
    assert text.endswith("Z")
    parsed = datetime.fromisoformat(text)
    assert abs(parsed - moment).total_seconds() < 0.001
    assert to_date(moment.isoformat()) == moment.date().isoformat()


def test_datetime_needs_a_time_zone_and_converts_to_utc() -> None:
    assert to_datetime("2026-11-25T11:00:00+01:00") == "2026-11-25T10:00:00.000Z"
    assert to_date("2026-11-25") == "2026-11-25"
    with pytest.raises(TransformError, match="no time zone"):
        to_datetime("2026-11-25T10:00:00")
    with pytest.raises(TransformError, match="ISO 8601"):
        to_datetime("yesterday")


@given(st.booleans())
def test_bool_reads_its_own_text(flag: bool) -> None:
    assert to_bool(flag) is flag
    assert to_bool(str(flag).lower()) is flag


@given(st.integers())
def test_int_reads_integers_from_text_and_decimals(number: int) -> None:
    assert to_int(str(number)) == number
    assert to_int(Decimal(number)) == number
    with pytest.raises(TransformError):
        to_int(f"{number}.5")


def test_string_case_and_prefix_transforms() -> None:
    assert run("trim", "  Ada ") == "Ada"
    assert run("upper", "ada") == "ADA"
    assert run("lower", "ADA") == "ada"
    assert run("title", "ada lovelace") == "Ada Lovelace"
    assert run("prefix", "Clinic", arg="org:") == "org:Clinic"
    assert run("before", "en_US", arg="_") == "en"
    assert run("string", True) == "true"
    assert run("trim", None) is None
    with pytest.raises(TransformError, match="expected text"):
        run("trim", 12)


LANGUAGES = {"en": "English", "de": "German"}


@given(st.text(max_size=8))
def test_value_map_is_total_with_a_default_or_fails(value: str) -> None:
    total = ValueMap("language", LANGUAGES, "English", {}, None)
    strict = ValueMap("language", LANGUAGES, None, {}, None)
    assert build_map(total)(value, SCOPE) in set(LANGUAGES.values())
    if value in LANGUAGES:
        assert build_map(strict)(value, SCOPE) == LANGUAGES[value]
    else:
        with pytest.raises(TransformError, match="not in value map 'language'"):
            build_map(strict)(value, SCOPE)


def test_value_map_picks_the_locale_variant_then_the_language() -> None:
    consent = ValueMap(
        "consent",
        {"true": "Opted In", "false": "Opted Out"},
        "Not Asked",
        {"de": {"true": "Not Asked", "false": "Opted Out"}},
        lambda s: s.root.get("locale"),
    )
    step = build_map(consent)
    assert step(True, Scope({"locale": "de_AT"}, None, None)) == "Not Asked"
    assert step(True, Scope({"locale": "en_US"}, None, None)) == "Opted In"
    assert step(None, Scope({"locale": "en_US"}, None, None)) == "Not Asked"


def test_lookup_reads_the_callers_catalog() -> None:
    step = build_step("lookup", "pricebook_entry", StepContext(None, {}))
    catalog = {"WB-101": "01u1"}
    scope = Scope({}, None, lambda table, key: catalog.get(key))
    assert step("WB-101", scope) == "01u1"
    with pytest.raises(TransformError, match="not in the catalog"):
        step("XX-1", scope)
    with pytest.raises(TransformError, match="no catalog look-up"):
        step("WB-101", SCOPE)


@pytest.mark.parametrize(
    ("name", "arg", "message"),
    [
        ("trimm", None, "unknown transform"),
        ("trim", 3, "takes no argument"),
        ("truncate", None, "no length"),
        ("decimal", "two", "a scale"),
        ("split_name", "middle", "first or last"),
        ("map", "nope", "unknown value map"),
    ],
)
def test_build_step_refuses_bad_names_and_arguments(name: str, arg: Any, message: str) -> None:
    with pytest.raises(StepBuildError, match=message):
        build_step(name, arg, StepContext(None, {}))


def build_map(table: ValueMap) -> Any:
    return build_step("map", table.name, StepContext(None, {table.name: table}))
