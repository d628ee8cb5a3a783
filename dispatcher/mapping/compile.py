"""Compile a validated mapping file's fields, checking them against the declared schema.

Every problem is collected, never raised on sight, so the operator sees the whole list (with
lines) after one run of ``outbox mappings check``. Paths are only recorded here, per section;
``events_check`` tests them against each event that lists the section.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dispatcher.mapping.compiled import CompiledCase, CompiledField
from dispatcher.mapping.conditions import build_conditions
from dispatcher.mapping.document import Document, Loc
from dispatcher.mapping.errors import MappingIssue, suggest
from dispatcher.mapping.model import Case, FieldSpec, MappingFile, Owner, Reference
from dispatcher.mapping.paths import PathRef, event_path, parse_path
from dispatcher.mapping.schema import (
    TEXT_TYPES,
    DeclaredSchema,
    FieldSchema,
    FieldType,
    ObjectSchema,
)
from dispatcher.mapping.steps import MULTI_SOURCE, BuiltStep, StepBuildError, build
from dispatcher.mapping.transforms import StepContext, ValueMap
from dispatcher.mapping.validate import check_guard, field_check

Pipeline = tuple[BuiltStep, ...]


@dataclass
class SectionScope:
    """The section being compiled: where its item lives and the paths it reads, per loc."""

    loc: Loc
    obj: ObjectSchema
    for_each: str | None
    item: str | None
    paths: list[tuple[str, Loc]] = field(default_factory=list)
    tables: set[str] = field(default_factory=set)

    def read(self, path: str, loc: Loc) -> PathRef:
        self.paths.append((event_path(path, self.item, self.for_each), loc))
        return parse_path(path, self.item)


@dataclass
class FieldCompiler:
    """Compiles target fields of one mapping file; ``issues`` collects every problem."""

    document: Document
    mapping: MappingFile
    schema: DeclaredSchema
    value_maps: dict[str, ValueMap]
    issues: list[MappingIssue] = field(default_factory=list)

    def issue(self, loc: Loc, message: str, fix: str) -> None:
        self.issues.append(self.document.issue(loc, message, fix))

    def target(self, section: SectionScope, name: str, loc: Loc) -> FieldSchema | None:
        found = section.obj.fields.get(name)
        if found is None:
            self.issue(
                loc,
                f"{section.obj.name} has no field {name!r} in {self.schema.source}",
                suggest(name, section.obj.fields),
            )
        elif not (found.createable or found.updateable):
            self.issue(loc, f"{section.obj.name}.{name} is read-only", "remove the mapping")
        return found

    def compile(
        self, section: SectionScope, name: str, spec: Case, loc: Loc, owner: Owner
    ) -> CompiledField | None:
        target = self.target(section, name, loc)
        if target is None:
            return None
        ref = spec.ref if isinstance(spec, FieldSpec) else None
        parent = self.parent(target, ref, loc) if ref is not None else None
        written = parent if parent is not None else target
        ctx = StepContext(written.length, self.value_maps)
        cases = spec.cases if isinstance(spec, FieldSpec) and spec.cases else [spec]
        compiled = [
            self.case(section, case, loc if case is spec else (*loc, "cases", i), ctx)
            for i, case in enumerate(cases)
        ]
        if ref is not None and parent is None:
            return None
        done = [c for c in compiled if c is not None]
        if len(done) != len(compiled):
            return None
        outputs = self.picklist_outputs(section, target, [c.outputs for c in done], loc)
        check = field_check(written)
        for c in done:
            constant = c.constant and target.type is not FieldType.PICKLIST  # picklists: above
            problem = check(c.value()) if constant else None
            if problem is not None:
                self.issue(loc, f"the constant value {problem}", "change the value")
        trusted = all(c.trusted(written) for c in done)
        key = target.relationship_name if ref is not None and target.relationship_name else name
        relationship = ref.field if ref is not None else None
        return CompiledField(
            target=name,
            key=key,
            owner=owner,
            cases=tuple(c.case for c in done),
            check=None if trusted else check,
            guard=check_guard(written),
            relationship=relationship,
            picklist_values=outputs,
        )

    def parent(self, target: FieldSchema, ref: Reference, loc: Loc) -> FieldSchema | None:
        if target.type is not FieldType.REFERENCE or not target.relationship_name:
            self.issue(
                loc,
                f"{target.name} is not a reference field",
                "remove ref, or map a reference field",
            )
            return None
        if ref.object not in target.reference_to:
            self.issue(
                (*loc, "ref", "object"),
                f"{target.name} refers to {', '.join(target.reference_to)}, not {ref.object}",
                suggest(ref.object, target.reference_to),
            )
            return None
        parent = self.schema.objects.get(ref.object)
        found = parent.fields.get(ref.field) if parent is not None else None
        if found is None or not found.external_id:
            self.issue(
                (*loc, "ref", "field"),
                f"{ref.object}.{ref.field} is not an external-ID field",
                "refer to the parent by a field declared external_id: true",
            )
            return None
        return found

    def case(self, section: SectionScope, case: Case, loc: Loc, ctx: StepContext) -> _Case | None:
        found, source, outputs = self.source(section, case, loc)
        steps, outputs = self.steps(section, case, loc, ctx, outputs)
        when = [(c, (*loc, "when", i, "path")) for i, c in enumerate(case.when)]
        for condition, where in when:
            section.read(condition.path, where)
        if not found or steps is None:
            return None
        constant = case.value if case.from_ is None and "value" in case.model_fields_set else None
        compiled = CompiledCase(
            build_conditions(case.when, section.item), source, constant, case.default, steps
        )
        last = case.transforms[-1] if case.transforms else None
        return _Case(
            compiled,
            outputs,
            case.from_ is None and not steps,
            last.name if last else None,
            last.arg if last else None,
        )

    def source(
        self, section: SectionScope, case: Case, loc: Loc
    ) -> tuple[bool, PathRef | tuple[PathRef, ...] | None, frozenset[str] | None]:
        """Whether the case has a source, its path(s) (None for a constant), and the values it
        can give when known."""
        origin = case.from_
        if origin is None:
            if "value" not in case.model_fields_set and "default" not in case.model_fields_set:
                self.issue(loc, "the field has no source", "give from, value, default or cases")
                return False, None, None
            constant = case.value if "value" in case.model_fields_set else None
            known = frozenset({constant}) if isinstance(constant, str) else None
            return True, None, known
        if isinstance(origin, str):
            return True, section.read(origin, (*loc, "from")), None
        if not case.transforms or case.transforms[0].name not in MULTI_SOURCE:
            self.issue(
                (*loc, "from"),
                "several sources need join or first as the first transform",
                "add transforms: [join] or [first]",
            )
        paths = tuple(section.read(path, (*loc, "from", i)) for i, path in enumerate(origin))
        return True, paths, None

    def steps(
        self,
        section: SectionScope,
        case: Case,
        loc: Loc,
        ctx: StepContext,
        outputs: frozenset[str] | None,
    ) -> tuple[Pipeline | None, frozenset[str] | None]:
        steps: list[BuiltStep] = []
        failed = False
        for i, spec in enumerate(case.transforms):
            try:
                steps.append(build(spec.name, spec.arg, ctx))
            except StepBuildError as exc:
                self.issue((*loc, "transforms", i), str(exc), exc.fix)
                failed = True
                continue
            outputs = self.step_outputs(section, spec.name, spec.arg, outputs)
        if failed:
            return None, outputs
        return tuple(steps), outputs

    def step_outputs(
        self, section: SectionScope, name: str, arg: Any, outputs: frozenset[str] | None
    ) -> frozenset[str] | None:
        if name == "lookup":
            section.tables.add(str(arg))
        if name != "map":
            return outputs if name in ("trim", "truncate") else None
        table = self.value_maps[str(arg)]
        if table.locale is not None:
            locale_from = self.mapping.value_maps[table.name].locale_from or ""
            section.paths.append((locale_from, ("value_maps", table.name, "locale_from")))
        return table.outputs()

    def picklist_outputs(
        self,
        section: SectionScope,
        target: FieldSchema,
        known: Sequence[frozenset[str] | None],
        loc: Loc,
    ) -> frozenset[str]:
        if target.type is not FieldType.PICKLIST:
            return frozenset()
        values = frozenset().union(*(k for k in known if k is not None))
        if target.restricted:
            for value in sorted(values - set(target.picklist)):
                self.issue(
                    loc,
                    f"{value!r} is not a value of the restricted picklist "
                    f"{section.obj.name}.{target.name}",
                    f"use one of: {', '.join(target.picklist)}",
                )
        return values


@dataclass(frozen=True, slots=True)
class _Case:
    """One compiled case and what load knows of it: the values it can give (``outputs``),
    whether it is a constant, and its last transform (``last``/``arg``), which tell whether
    its value can skip the per-write check because load already proved it fits."""

    case: CompiledCase
    outputs: frozenset[str] | None
    constant: bool
    last: str | None
    arg: Any

    def value(self) -> Any:
        """The constant's value (only for a constant case)."""
        return self.case.constant if self.case.constant is not None else self.case.default

    def trusted(self, written: FieldSchema) -> bool:
        """True when every value this case yields fits ``written`` (checked once, at load)."""
        if self.constant:
            return True
        if self.last in ("date", "datetime"):
            return written.type in (FieldType.DATE, FieldType.DATETIME)
        if self.last == "truncate" and self.arg is None:
            return written.type in TEXT_TYPES
        return self.last == "map" and written.type is FieldType.PICKLIST
