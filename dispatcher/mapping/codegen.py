"""Each mapping section compiled to one Python function, generated from its compiled fields.

Why generate source: run as a tree of closures, a section costs a Python call per path, per case,
per conversion and per check, and those calls were most of the time spent mapping a message.
The generated function reads each path inline (every top-level key of the payload and of the
list item once per record), calls only the conversions and checks themselves, and builds the
record's dict in one expression. Every object the code uses (converters, tests, constants)
enters through the function's namespace under a generated name; text from the mapping file
appears in the source only as ``repr()`` literals, so no mapping can inject code.
"""

from __future__ import annotations

import linecache
from collections.abc import Sequence
from typing import Any

from dispatcher.mapping.compiled import (
    SKIP,
    Builder,
    CompiledCase,
    CompiledField,
    RecordRule,
)
from dispatcher.mapping.conditions import Conditions
from dispatcher.mapping.errors import MappingError
from dispatcher.mapping.paths import PathRef
from dispatcher.mapping.records import MappedRecord, RecordShape
from dispatcher.mapping.steps import BuiltStep
from dispatcher.mapping.transforms import TransformError
from dispatcher.mapping.validate import GUARD_NAMES

_REQUIRED = "is required but the message has no value for it"


def _shape_error(object_name: str, target: str, exc: Exception, key: Any) -> MappingError:
    problem = f"the payload does not have the shape the mapping reads ({exc})"
    return MappingError(object_name, target, problem, record=None if key is None else str(key))


def _rule_error(object_name: str, rule: RecordRule, value: Any, key: Any) -> MappingError:
    return MappingError(
        object_name, rule.target, f"{rule.problem} (value {value!r})", record=str(key)
    )


class _Writer:
    """Source lines and the namespace they refer to, for one section's function."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {
            "_SKIP": SKIP,
            "_MappingError": MappingError,
            "_TransformError": TransformError,
            "_shape_error": _shape_error,
            "_rule_error": _rule_error,
            "_Record": MappedRecord,
            **GUARD_NAMES,
        }
        self.tops: dict[tuple[bool, str], str] = {}
        self.pending: list[str] = []  # top-level reads not yet emitted

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    def bind(self, value: Any) -> str:
        name = f"_c{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def top(self, from_item: bool, key: str) -> str:
        """A local holding ``root.get(key)`` (or ``item.get``), read once per record."""
        name = self.tops.get((from_item, key))
        if name is None:
            name = self.tops[from_item, key] = f"{'i' if from_item else 'r'}{len(self.tops)}"
            self.pending.append(f"{name} = {'item' if from_item else 'root'}.get({key!r})")
        return name

    def flush_tops(self, depth: int) -> None:
        for line in self.pending:
            self.emit(depth, line)
        self.pending.clear()

    def path(self, ref: PathRef) -> str:
        """An expression for the value at ``ref``: None when a key is missing or null."""
        if not ref.keys:
            return "item"
        expression = self.top(ref.from_item, ref.keys[0])
        for key in ref.keys[1:]:
            if expression.isidentifier():
                expression = f"(None if {expression} is None else {expression}.get({key!r}))"
            else:
                expression = f"(None if (_t := {expression}) is None else _t.get({key!r}))"
        return expression

    def conditions(self, conditions: Conditions) -> str:
        return " and ".join(f"{self.bind(test)}({self.path(ref)})" for ref, test in conditions)


def _case(out: _Writer, case: CompiledCase, var: str, depth: int) -> None:
    if case.source is None:
        value = case.constant if case.constant is not None else case.default
        out.emit(depth, f"{var} = {out.bind(value)}")
    elif isinstance(case.source, PathRef):
        out.emit(depth, f"{var} = {out.path(case.source)}")
        if case.default is not None:
            out.emit(depth, f"if {var} is None: {var} = {out.bind(case.default)}")
    else:  # several sources: a list, never null, so a default never applies
        out.emit(depth, f"{var} = [{', '.join(out.path(ref) for ref in case.source)}]")
    conversions: list[BuiltStep] = []
    for built in [*case.steps, None]:
        if built is not None and built.convert is not None:
            conversions.append(built)
            continue
        if conversions:  # consecutive plain conversions share one null test
            out.emit(depth, f"if {var} is not None:")
            for conversion in conversions:
                name = out.bind(conversion.convert)
                inline = conversion.inline
                call = inline.format(v=var, f=name) if inline else f"{name}({var})"
                out.emit(depth + 1, f"{var} = {call}")
            conversions = []
        if built is not None:
            out.emit(depth, f"{var} = {out.bind(built.step)}({var}, scope)")


def _field(out: _Writer, field: CompiledField, var: str, depth: int) -> None:
    first = field.cases[0]
    if not first.when:
        _case(out, first, var, depth)
    else:
        for i, case in enumerate(field.cases):
            if not case.when:
                out.emit(depth, "else:")
                _case(out, case, var, depth + 1)
                break
            out.emit(depth, f"{'elif' if i else 'if'} {out.conditions(case.when)}:")
            _case(out, case, var, depth + 1)
        else:
            out.emit(depth, "else:")
            out.emit(depth + 1, f"{var} = _SKIP")
    present = f"{var} is not None" + (f" and {var} is not _SKIP" if field.may_skip else "")
    if field.check is not None:
        check = out.bind(field.check)
        guard = f" and not ({field.guard.format(v=var)})" if field.guard else ""
        out.emit(depth, f"if {present}{guard} and (_p := {check}({var})) is not None:")
        out.emit(depth + 1, "raise _TransformError(_p)")
    if field.relationship is not None:
        out.emit(depth, f"if {present}: {var} = {{{field.relationship!r}: {var}}}")


def _record(
    out: _Writer,
    fields: Sequence[CompiledField],
    required: Sequence[CompiledField],
    rules: Sequence[RecordRule],
) -> None:
    """Assemble ``fields`` in mapping order, then the required-field and rule checks."""
    names = {id(field): f"v{i}" for i, field in enumerate(fields)}
    unique = len({field.key for field in fields}) == len(fields)
    literal = []
    for field in fields:
        if field.may_skip:
            break
        literal.append(f"{field.key!r}: {names[id(field)]}")
    out.emit(1, f"fields = {{{', '.join(literal)}}}")
    for field in fields[len(literal) :]:
        var = names[id(field)]
        store = f"fields[{field.key!r}] = {var}"
        out.emit(1, f"if {var} is not _SKIP: {store}" if field.may_skip else store)
    by_key = {field.key: field for field in fields}

    def value(key: str) -> str:
        field = by_key[key]
        var = names[id(field)]
        if not unique:
            return f"fields.get({key!r})"
        return f"(None if {var} is _SKIP else {var})" if field.may_skip else var

    for field in required[1:] if required and required[0] is fields[0] else required:
        problem = f"_MappingError(_OBJ, {field.target!r}, {_REQUIRED!r}, record=str(v0))"
        out.emit(1, f"if {value(field.key)} is None: raise {problem}")
    for rule in rules:
        test, bound = out.bind(rule.test), out.bind(rule)
        out.emit(1, f"if not {test}({value(rule.key)}):")
        out.emit(2, f"raise _rule_error(_OBJ, {bound}, {value(rule.key)}, v0)")


def section_builder(
    *,
    origin: str,
    shape: RecordShape,
    when: Conditions,
    external_id: CompiledField,
    fields: Sequence[CompiledField],
    required: Sequence[CompiledField],
    rules: Sequence[RecordRule],
) -> Builder:
    """The function that builds one record of a section from a scope (``origin`` names the
    section in tracebacks)."""
    out = _Writer()
    out.namespace["_OBJ"] = shape.object_name
    every = (external_id, *fields)
    out.namespace["_TARGETS"] = tuple(field.target for field in every)
    guard = out.conditions(when) if when else None
    out.flush_tops(1)
    if guard is not None:
        out.emit(1, f"if not ({guard}): return None")
    start = len(out.lines)
    out.emit(1, "_f = 0")
    out.emit(1, "try:")
    _field(out, external_id, "v0", 2)
    out.emit(2, "if v0 is None or v0 is _SKIP:")
    message = "the external ID has no value"
    out.emit(3, f"raise _MappingError(_OBJ, {external_id.target!r}, {message!r})")
    for i, field in enumerate(fields, start=1):
        out.emit(2, f"_f = {i}")
        _field(out, field, f"v{i}", 2)
    out.emit(1, "except _TransformError as exc:")
    key = "None if _f == 0 else str(v0)"
    out.emit(2, f"raise _MappingError(_OBJ, _TARGETS[_f], str(exc), record={key}) from None")
    out.emit(1, "except (AttributeError, TypeError) as exc:")
    out.emit(2, "raise _shape_error(_OBJ, _TARGETS[_f], exc, None if _f == 0 else v0) from None")
    body, out.lines = out.lines[start:], out.lines[:start]
    out.flush_tops(1)
    out.lines.extend(body)
    _record(out, every, required, rules)
    out.emit(1, "return _Record(_SHAPE, v0, fields)")
    out.namespace["_SHAPE"] = shape
    source = "\n".join(["def build(scope):", "    root = scope.root", "    item = scope.item"])
    source += "\n" + "\n".join(out.lines) + "\n"
    filename = f"<mapping {origin}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), out.namespace)  # the source is ours: see the docstring
    built: Builder = out.namespace["build"]
    return built
