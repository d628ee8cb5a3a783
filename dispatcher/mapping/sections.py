"""Compile one mapping file's sections and events, and check them against the event payloads.

A section is one record type written from one event's payload (or one per list item). Here we
check what spans fields: the external ID, required fields left unmapped, rules naming unmapped
fields, paths that no listed event provides, and the order of sections within an event (a
record must come after the parents it refers to, because the writer sends them in this order).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from dispatcher.mapping.codegen import section_builder
from dispatcher.mapping.compile import FieldCompiler, SectionScope
from dispatcher.mapping.compiled import CompiledField, CompiledSection, RecordRule
from dispatcher.mapping.conditions import build_conditions, build_test
from dispatcher.mapping.errors import suggest
from dispatcher.mapping.events import PAYLOADS, payload_paths
from dispatcher.mapping.model import DESTINATION_OWNERS, Owner, Section
from dispatcher.mapping.paths import compile_path
from dispatcher.mapping.records import FieldSets, RecordShape


def compile_sections(compiler: FieldCompiler) -> dict[str, tuple[CompiledSection, SectionScope]]:
    compiled: dict[str, tuple[CompiledSection, SectionScope]] = {}
    for name, spec in compiler.mapping.objects.items():
        result = _section(compiler, name, spec)
        if result is not None:
            compiled[name] = result
    return compiled


def _section(
    compiler: FieldCompiler, name: str, spec: Section
) -> tuple[CompiledSection, SectionScope] | None:
    loc = ("objects", name)
    obj = compiler.schema.objects.get(spec.object)
    if obj is None:
        compiler.issue(
            (*loc, "object"),
            f"unknown object {spec.object!r} in {compiler.schema.source}",
            suggest(spec.object, compiler.schema.objects),
        )
        return None
    item = spec.as_ if spec.for_each else None
    scope = SectionScope(loc, obj, spec.for_each, item)
    if spec.for_each:
        scope.read(spec.for_each, (*loc, "for_each"))
        scope.paths[-1] = (f"{spec.for_each}[]", (*loc, "for_each"))
    for i, condition in enumerate(spec.when):
        scope.read(condition.path, (*loc, "when", i, "path"))
    external = _external_id(compiler, scope, spec)
    fields = [
        compiler.compile(scope, target, field, (*loc, "fields", target), field.owner)
        for target, field in spec.fields.items()
    ]
    if not spec.update_only:
        _required(compiler, scope, spec)
    rules = _rules(compiler, scope, spec)
    if external is None or None in fields or rules is None:
        return None
    done = tuple(f for f in fields if f is not None)
    when = build_conditions(spec.when, item)
    required = tuple(
        f for f in (external, *done) if obj.fields[f.target].required and not spec.update_only
    )
    once = frozenset(target for target, f in spec.fields.items() if f.create_only)
    shape = RecordShape(obj.name, name, external.key, _field_sets(scope, external, done, once))
    build = section_builder(
        origin=f"{compiler.document.file}:{name}",
        shape=shape,
        when=when,
        external_id=external,
        fields=done,
        required=required,
        rules=rules,
    )
    section = CompiledSection(
        name=name,
        object_name=obj.name,
        external_id=external,
        fields=done,
        for_each=compile_path(spec.for_each) if spec.for_each else None,
        for_each_path=spec.for_each or "",
        when=when,
        required=required,
        update_only=spec.update_only,
        rules=tuple(rules),
        shape=shape,
        references=frozenset(f.ref.object for f in spec.fields.values() if f.ref is not None),
        build=build,
    )
    return section, scope


def _external_id(
    compiler: FieldCompiler, scope: SectionScope, spec: Section
) -> CompiledField | None:
    loc = (*scope.loc, "external_id")
    declared = scope.obj.fields.get(spec.external_id.field)
    if declared is not None and not declared.external_id:
        compiler.issue(
            (*loc, "field"),
            f"{scope.obj.name}.{declared.name} is not declared external_id",
            _external_fix(scope),
        )
    return compiler.compile(scope, spec.external_id.field, spec.external_id, loc, Owner.STOREFRONT)


def _external_fix(scope: SectionScope) -> str:
    keys = [f.name for f in scope.obj.fields.values() if f.external_id]
    return (
        f"use {' or '.join(keys)}" if keys else "declare the field external_id: true in the schema"
    )


def _required(compiler: FieldCompiler, scope: SectionScope, spec: Section) -> None:
    mapped = {spec.external_id.field, *spec.fields}
    for declared in scope.obj.fields.values():
        if declared.required and declared.name not in mapped:
            compiler.issue(
                (*scope.loc, "fields"),
                f"required field {scope.obj.name}.{declared.name} is not mapped",
                f"map {declared.name} under fields (from, value or default)",
            )


def _rules(compiler: FieldCompiler, scope: SectionScope, spec: Section) -> list[RecordRule] | None:
    keys = {spec.external_id.field: spec.external_id.field}
    for target, field in spec.fields.items():
        declared = scope.obj.fields.get(target)
        relationship = declared.relationship_name if declared is not None else None
        keys[target] = relationship if field.ref is not None and relationship else target
    rules = []
    for i, rule in enumerate(spec.rules):
        if rule.field not in keys:
            compiler.issue(
                (*scope.loc, "rules", i, "field"),
                f"rule on {rule.field!r}, which this section does not map",
                suggest(rule.field, keys),
            )
            continue
        test = build_test(*rule.operator())
        rules.append(RecordRule(rule.field, keys[rule.field], test, rule.problem))
    return rules if len(rules) == len(spec.rules) else None


def _field_sets(
    scope: SectionScope,
    external: CompiledField,
    fields: tuple[CompiledField, ...],
    create_only: frozenset[str],
) -> FieldSets:
    declared = scope.obj.fields
    create = {f.key for f in fields if declared[f.target].createable}
    update = {
        f.key
        for f in fields
        if declared[f.target].updateable
        and f.owner not in DESTINATION_OWNERS
        and f.target not in create_only
    }
    shared = {f.key for f in fields if f.owner is Owner.SHARED}
    return FieldSets(
        frozenset({external.key, *create}), frozenset({external.key, *update}), frozenset(shared)
    )


def compile_events(
    compiler: FieldCompiler, sections: Mapping[str, tuple[CompiledSection, SectionScope]]
) -> Mapping[str, tuple[CompiledSection, ...]]:
    """Each event's sections in the listed order, after checking paths and dependency order."""
    events: dict[str, tuple[CompiledSection, ...]] = {}
    for event_type, names in compiler.mapping.events.items():
        loc = ("events", event_type)
        provided = payload_paths(event_type)
        if provided is None:
            compiler.issue(loc, f"unknown event type {event_type!r}", suggest(event_type, PAYLOADS))
            continue
        listed = []
        for i, name in enumerate(names):
            if name not in compiler.mapping.objects:
                compiler.issue(
                    (*loc, i),
                    f"{event_type} lists {name!r}, which is not under objects",
                    suggest(name, compiler.mapping.objects),
                )
            elif name in sections:
                listed.append((i, *sections[name]))
        for _, _, scope in listed:
            _paths(compiler, event_type, provided, scope)
        _order(compiler, event_type, [(i, section) for i, section, _ in listed])
        events[event_type] = tuple(section for _, section, _ in listed)
    return MappingProxyType(events)


def _paths(
    compiler: FieldCompiler, event_type: str, provided: frozenset[str], scope: SectionScope
) -> None:
    """Report paths the event lacks; a wrong ``for_each`` once, not again for each item path."""
    items = f"{scope.for_each}[]" if scope.for_each else None
    for path, loc in scope.paths:
        if items is not None and items not in provided and path.startswith(f"{items}."):
            continue
        if path not in provided:
            compiler.issue(
                loc,
                f"{event_type} payloads have no {path!r}",
                suggest(path, provided) + " (see docs/events.md)",
            )


def _order(
    compiler: FieldCompiler, event_type: str, listed: list[tuple[int, CompiledSection]]
) -> None:
    for position, (i, section) in enumerate(listed):
        later = {s.object_name: s.name for _, s in listed[position + 1 :]}
        earlier = {s.object_name for _, s in listed[:position]}
        for parent in sorted(section.references - earlier):
            if parent in later:
                compiler.issue(
                    ("events", event_type, i),
                    f"{section.name} refers to {parent}, which {event_type} writes later "
                    f"({later[parent]})",
                    f"list {later[parent]} before {section.name}",
                )
