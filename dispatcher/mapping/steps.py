"""The transforms a mapping may name, built once at load.

Most transforms are plain conversions: null passes through, anything else is converted. They
are built as ``Converter``s so the compiler can chain several into one closure (a field then
costs one call per conversion, not three). The rest (``join``, ``first``, ``map``, ``lookup``)
see nulls or the record's scope and are full ``Step``s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dispatcher.mapping.errors import suggest
from dispatcher.mapping.paths import Scope
from dispatcher.mapping.transforms import (
    Step,
    StepContext,
    TransformError,
    first_present,
    join_parts,
    map_value,
    organisation_key,
    split_name,
    text,
    to_bool,
    to_date,
    to_datetime,
    to_decimal,
    to_int,
    to_string,
)

Converter = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class BuiltStep:
    """A transform ready to run: ``step`` always works; ``convert`` is set for a plain
    conversion, and ``inline`` (when set) is a Python expression template with the same result
    for text, where ``{v}`` is the value (never null) and ``{f}`` the converter: the generated
    section uses it to skip a call for the common case."""

    step: Step
    convert: Converter | None = None
    inline: str | None = None


_ON_TEXT = "{fast} if type({{v}}) is str else {{f}}({{v}})"


def _on_text(fast: str) -> str:
    """An inline template: ``fast`` (written with ``{v}``) for a str, the converter otherwise."""
    return _ON_TEXT.format(fast=fast)


INLINE: Mapping[str, str] = {
    "trim": _on_text("{v}.strip()"),
    "upper": _on_text("{v}.upper()"),
    "lower": _on_text("{v}.lower()"),
    "title": _on_text("{v}.title()"),
    "string": _on_text("{v}"),
}


class StepBuildError(ValueError):
    """A transform named wrongly or given a wrong argument; becomes a load-time issue."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


def _plain(convert: Converter) -> Callable[[Any, StepContext], Converter]:
    def build(arg: Any, ctx: StepContext) -> Converter:
        _no_argument(arg)
        return convert

    return build


def _no_argument(arg: Any) -> None:
    if arg is not None:
        raise StepBuildError(f"takes no argument, got {arg!r}", "write the name alone")


def _count(arg: Any, what: str) -> int:
    if isinstance(arg, bool) or not isinstance(arg, int) or arg < 0:
        raise StepBuildError(f"needs {what} as a whole number >= 0, got {arg!r}", f"give {what}")
    return arg


def _word(arg: Any, what: str) -> str:
    if not isinstance(arg, str):
        raise StepBuildError(f"needs {what} as text, got {arg!r}", f"give {what}")
    return arg


def _truncate(arg: Any, ctx: StepContext) -> Converter:
    length = ctx.length if arg is None else _count(arg, "a length")
    if length is None:
        raise StepBuildError(
            "truncate has no length: the target field declares none",
            "give one ({truncate: 40}) or write to a field with a declared length",
        )
    return lambda v: text(v)[:length]


def _decimal(arg: Any, ctx: StepContext) -> Converter:
    scale = 2 if arg is None else _count(arg, "a scale")
    return lambda v: to_decimal(v, scale)


def _split_name(arg: Any, ctx: StepContext) -> Converter:
    if arg not in ("first", "last"):
        raise StepBuildError(
            f"split_name needs first or last, got {arg!r}", "write {split_name: first}"
        )
    index = 0 if arg == "first" else 1
    return lambda v: split_name(text(v))[index]


def _prefix(arg: Any, ctx: StepContext) -> Converter:
    start = _word(arg, "the prefix")
    return lambda v: start + to_string(v)


def _before(arg: Any, ctx: StepContext) -> Converter:
    separator = _word(arg, "a separator")
    return lambda v: text(v).partition(separator)[0]


def _join(arg: Any, ctx: StepContext) -> Step:
    separator = " " if arg is None else _word(arg, "a separator")
    return lambda v, s: join_parts(v, separator)


def _first(arg: Any, ctx: StepContext) -> Step:
    _no_argument(arg)
    return lambda v, s: first_present(v)


def _map(arg: Any, ctx: StepContext) -> Step:
    name = _word(arg, "a value map name")
    table = ctx.value_maps.get(name)
    if table is None:
        known = ", ".join(sorted(ctx.value_maps)) or "none declared"
        raise StepBuildError(
            f"unknown value map {name!r}", f"declare it under value_maps ({known})"
        )
    locale = table.locale
    if locale is None:
        return lambda v, s: map_value(table, v, None)
    return lambda v, s: map_value(table, v, locale(s))


def _lookup(arg: Any, ctx: StepContext) -> Step:
    table = _word(arg, "a look-up table name")

    def step(value: Any, scope: Scope) -> Any:
        if value is None:
            return None
        if scope.lookup is None:
            raise TransformError(f"no catalog look-up was given for table {table!r}")
        found = scope.lookup(table, to_string(value))
        if found is None:
            raise TransformError(f"{value!r} is not in the catalog table {table!r}")
        return found

    return step


CONVERTERS: Mapping[str, Callable[[Any, StepContext], Converter]] = {
    "trim": _plain(lambda v: text(v).strip()),
    "upper": _plain(lambda v: text(v).upper()),
    "lower": _plain(lambda v: text(v).lower()),
    "title": _plain(lambda v: text(v).title()),
    "organisation": _plain(organisation_key),
    "truncate": _truncate,
    "string": _plain(to_string),
    "int": _plain(to_int),
    "decimal": _decimal,
    "bool": _plain(to_bool),
    "date": _plain(to_date),
    "datetime": _plain(to_datetime),
    "split_name": _split_name,
    "prefix": _prefix,
    "before": _before,
}

STEPS: Mapping[str, Callable[[Any, StepContext], Step]] = {
    "join": _join,
    "first": _first,
    "map": _map,
    "lookup": _lookup,
}

TRANSFORMS = frozenset(CONVERTERS) | frozenset(STEPS)

MULTI_SOURCE = frozenset({"join", "first"})
"""Transforms that accept a list of sources (``from: [a, b]``); one must come first."""


def build(name: str, arg: Any, ctx: StepContext) -> BuiltStep:
    """The step for ``name``, with its plain converter when it is one (for chaining)."""
    try:
        if name in CONVERTERS:
            convert = CONVERTERS[name](arg, ctx)
            step: Step = lambda v, s: None if v is None else convert(v)  # noqa: E731
            return BuiltStep(step, convert, _inline(name, arg, ctx))
        if name in STEPS:
            return BuiltStep(STEPS[name](arg, ctx))
    except StepBuildError as exc:
        raise StepBuildError(f"{name}: {exc}", exc.fix) from None
    raise StepBuildError(f"unknown transform {name!r}", suggest(name, TRANSFORMS))


def _inline(name: str, arg: Any, ctx: StepContext) -> str | None:
    """The inline template of a converter already built (so ``arg`` is valid)."""
    if name == "truncate":
        length = ctx.length if arg is None else _count(arg, "a length")
        assert length is not None  # _truncate refused a missing length already
        return _on_text(f"{{v}}[:{length:d}]")
    if name == "prefix":
        literal = repr(str(arg)).replace("{", "{{").replace("}", "}}")
        return _on_text(f"{literal} + {{v}}")
    return INLINE.get(name)


def build_step(name: str, arg: Any, ctx: StepContext) -> Step:
    return build(name, arg, ctx).step
