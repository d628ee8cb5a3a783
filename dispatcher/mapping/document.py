"""A YAML file read with the line of every key, so each problem can name the line to edit.

PyYAML's plain loaders forget where a value came from and silently keep the last of two equal
keys. We compose the node tree ourselves, record ``path -> line`` for every mapping key and list
item, and report duplicate keys as issues. pydantic errors carry a ``loc`` path; the longest
recorded prefix of it gives the line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from dispatcher.mapping.errors import MappingIssue

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_NODES = 20_000  # values in a document once every alias is expanded
MAX_DEPTH = 100


@dataclass(frozen=True, slots=True)
class Oversized:
    """Why a composed document is refused before anything expands it, and where."""

    line: int
    problem: str
    fix: str


def expansion_problem(root: yaml.Node) -> Oversized | None:
    """A recursive alias, nesting beyond ``MAX_DEPTH``, or aliases that expand the document
    past ``MAX_NODES`` values (an "alias bomb"): found in time linear in the file, since each
    shared node is measured once, never expanded."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 0, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[key] > MAX_NODES:
                return Oversized(
                    node.start_mark.line + 1,
                    f"aliases expand it to more than {MAX_NODES} values",
                    "write the values out; aliases are for a few shared settings",
                )
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            return Oversized(
                node.start_mark.line + 1,
                "an alias refers to a node that contains it",
                "remove the recursive alias",
            )
        if depth > MAX_DEPTH:
            return Oversized(
                node.start_mark.line + 1, "nested too deeply", f"keep it within {MAX_DEPTH} levels"
            )
        open_nodes.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in children if id(child) not in sizes)
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


@dataclass(frozen=True, slots=True)
class Document:
    """Plain data parsed from one file, plus the line (1-based) of every key and item."""

    file: str
    data: Any
    lines: Mapping[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Iterable[str | int]) -> int | None:
        """The line of ``loc`` or, if it has none, of its nearest recorded ancestor."""
        parts = tuple(loc)
        for end in range(len(parts), -1, -1):
            line = self.lines.get(parts[:end])
            if line is not None:
                return line
        return None

    def issue(self, loc: Iterable[str | int], message: str, fix: str) -> MappingIssue:
        return MappingIssue(self.file, self.line_of(loc), message, fix)


def read_document(path: Path) -> tuple[Document, list[MappingIssue]]:
    """Parse ``path``; a syntax error becomes an issue with the line the parser stopped at."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return Document(name, None), [
            MappingIssue(name, None, f"cannot read: {exc}", "check the path")
        ]
    except UnicodeDecodeError as exc:
        return Document(name, None), [
            MappingIssue(name, None, f"not UTF-8 (at byte {exc.start})", "save the file as UTF-8")
        ]
    return parse_document(name, text)


def parse_document(name: str, text: str) -> tuple[Document, list[MappingIssue]]:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        oversized = expansion_problem(node) if node is not None else None
        if oversized is not None:
            return Document(name, None), [
                MappingIssue(name, oversized.line, oversized.problem, oversized.fix)
            ]
        lines: dict[Loc, int] = {(): 1}
        issues: list[MappingIssue] = []
        data = _build(loader, node, (), lines, issues, name) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        return Document(name, None), [
            MappingIssue(name, line, f"invalid YAML: {problem}", "fix the syntax")
        ]
    except RecursionError:
        return Document(name, None), [
            MappingIssue(name, None, "nested too deeply", f"keep it within {MAX_DEPTH} levels")
        ]
    finally:
        loader.dispose()
    return Document(name, data, lines), issues


def _build(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    loc: Loc,
    lines: dict[Loc, int],
    issues: list[MappingIssue],
    name: str,
) -> Any:
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in result:
                issues.append(MappingIssue(name, line, f"duplicate key {key!r}", "keep only one"))
            lines[(*loc, key)] = line
            result[key] = _build(loader, value_node, (*loc, key), lines, issues, name)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            lines[(*loc, index)] = item.start_mark.line + 1
            items.append(_build(loader, item, (*loc, index), lines, issues, name))
        return items
    return loader.construct_object(node, deep=True)


def validate_model(
    document: Document, model: type[M], loc: Loc = ()
) -> tuple[M | None, list[MappingIssue]]:
    """Validate ``document`` (or the part at ``loc``) against ``model``; issues carry lines."""
    data = document.data
    for part in loc:
        data = data[part]
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, [_issue(document, loc, error) for error in exc.errors()]


def _issue(document: Document, base: Loc, error: Any) -> MappingIssue:
    loc: Loc = (*base, *error["loc"])
    where = ".".join(str(part) for part in loc) or "the file"
    kind = error["type"]
    if kind == "extra_forbidden":
        message, fix = (
            f"unknown key {where}",
            "remove it or correct its spelling (see docs/mappings.md)",
        )
    elif kind == "missing":
        message, fix = f"missing key {where}", "add it"
    else:
        message, fix = f"{where}: {error['msg']}", "correct the value (see docs/mappings.md)"
    return document.issue(loc, message, fix)
