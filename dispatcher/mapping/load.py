"""Load a folder of mapping files into one validated, immutable ``Mappings``, or fail whole.

Every file is read, validated and compiled before anything is returned; any problem anywhere
means ``MappingConfigError`` with all of them, so a broken edit is never half applied. Each
destination carries a short content hash of its mapping and schema (normalised: comments,
key order and layout do not count), which the dispatcher records with every delivery attempt.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from dispatcher.mapping.compile import FieldCompiler
from dispatcher.mapping.compiled import DestinationMapping, Mappings
from dispatcher.mapping.document import Document, read_document, validate_model
from dispatcher.mapping.errors import MappingConfigError, MappingIssue
from dispatcher.mapping.inbound import compile_inbound
from dispatcher.mapping.model import MappingFile
from dispatcher.mapping.paths import compile_path
from dispatcher.mapping.schema import DeclaredSchema, builtin_schema, load_schema
from dispatcher.mapping.sections import compile_events, compile_sections
from dispatcher.mapping.transforms import ValueMap

SCHEMA_SUFFIX = "_schema.yaml"
HASH_LENGTH = 12


def mapping_files(directory: Path) -> list[Path]:
    """The mapping files of ``directory``: every ``*.yaml`` except declared schemas."""
    return sorted(p for p in Path(directory).glob("*.yaml") if not p.name.endswith(SCHEMA_SUFFIX))


def load(directory: Path) -> Mappings:
    """Every mapping in ``directory``, validated and compiled; raises ``MappingConfigError``."""
    directory = Path(directory)
    files = mapping_files(directory)
    if not files:
        issue = MappingIssue(
            str(directory), None, "no mapping files (*.yaml)", "point at the mappings folder"
        )
        raise MappingConfigError([issue])
    issues: list[MappingIssue] = []
    schemas: dict[str, tuple[DeclaredSchema | None, list[MappingIssue]]] = {}
    loaded: dict[str, DestinationMapping] = {}
    for path in files:
        mapping, found = _load_file(path, schemas)
        issues.extend(found)
        if mapping is None:
            continue
        if mapping.destination in loaded:
            other = loaded[mapping.destination].file
            issues.append(
                MappingIssue(
                    path.name,
                    1,
                    f"destination {mapping.destination!r} is also mapped in {other}",
                    "keep one file per destination",
                )
            )
        loaded[mapping.destination] = mapping
    if issues:
        raise MappingConfigError(issues)
    version = content_hash((m.file, m.version) for m in loaded.values())
    return Mappings(str(directory), version, MappingProxyType(loaded))


def check(directory: Path) -> tuple[MappingIssue, ...]:
    """The problems ``load`` would raise, for ``outbox mappings check``; empty when valid."""
    try:
        load(directory)
    except MappingConfigError as exc:
        return exc.issues
    return ()


def content_hash(parts: Iterable[tuple[str, Any]]) -> str:
    """sha256 over normalised content (sorted keys, no comments or layout), shortened."""
    digest = hashlib.sha256()
    for name, data in sorted(parts, key=lambda part: part[0]):
        text = json.dumps(
            data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
        )
        digest.update(f"{name}\n{text}\n".encode())
    return digest.hexdigest()[:HASH_LENGTH]


def _load_file(
    path: Path, schemas: dict[str, tuple[DeclaredSchema | None, list[MappingIssue]]]
) -> tuple[DestinationMapping | None, list[MappingIssue]]:
    document, issues = read_document(path)
    if issues:
        return None, issues
    model, issues = validate_model(document, MappingFile)
    if model is None:
        return None, issues
    schema, issues = _schema(path.parent, document, model.schema_, schemas)
    if schema is None:
        return None, issues
    compiler = FieldCompiler(document, model, schema, _value_maps(model))
    sections = compile_sections(compiler)
    events = compile_events(compiler, sections)
    inbound = compile_inbound(compiler, sections)
    if compiler.issues:
        return None, compiler.issues
    version = content_hash([(document.file, document.data), (schema.source, schema.content)])
    tables = frozenset().union(*(scope.tables for _, scope in sections.values()))
    compiled = MappingProxyType({name: section for name, (section, _) in sections.items()})
    return DestinationMapping(
        model.destination, document.file, version, schema, compiled, events, tables, inbound
    ), []


def _schema(
    directory: Path,
    document: Document,
    name: str,
    cache: dict[str, tuple[DeclaredSchema | None, list[MappingIssue]]],
) -> tuple[DeclaredSchema | None, list[MappingIssue]]:
    if name not in cache:
        if name.endswith(".yaml"):
            cache[name] = load_schema(directory / name)
        else:
            builtin = builtin_schema(name)
            problem = [
                document.issue(
                    ("schema",),
                    f"no built-in schema {name!r}",
                    "name a *_schema.yaml file in this folder, or thinkific",
                )
            ]
            cache[name] = (builtin, [] if builtin is not None else problem)
    return cache[name]


def _value_maps(model: MappingFile) -> dict[str, ValueMap]:
    maps = {}
    for name, spec in model.value_maps.items():
        by_locale: Mapping[str, Mapping[str, str]] = {
            locale.replace("-", "_"): MappingProxyType({**spec.values, **table})
            for locale, table in spec.locales.items()
        }
        locale = compile_path(spec.locale_from) if spec.locale_from else None
        maps[name] = ValueMap(
            name,
            MappingProxyType(dict(spec.values)),
            spec.default,
            MappingProxyType(dict(by_locale)),
            locale,
        )
    return maps
