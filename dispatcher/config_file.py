"""Reading the configuration file as hostile input, with the line of every key.

A file that is not UTF-8, larger than any configuration, nested beyond reason, or that expands
through YAML aliases (recursive ones, or an "alias bomb" of aliases of aliases) is refused in
milliseconds, before anything walks the expanded document.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dispatcher.core.errors import ConfigError, ConfigIssue

CONFIG_ENV = "OUTBOX_CONFIG"
MAX_FILE_BYTES = 1_000_000


def read_yaml(path: Path) -> tuple[Any, dict[tuple[str, ...], int]]:
    """The document's data and ``key path -> line``; ``ConfigError`` for any unreadable file."""
    text = _read(path)
    node = _compose(path, text)
    lines = _line_index(node)
    data = yaml.safe_load(text) if node is not None else {}
    return data, lines


def _read(path: Path) -> str:
    def refuse(problem: str, fix: str) -> ConfigError:
        return ConfigError([ConfigIssue(str(path), "(file)", problem, fix)])

    try:
        if not path.is_file():
            raise refuse("no such file", f"create it or point {CONFIG_ENV} at it")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise refuse(f"larger than {MAX_FILE_BYTES} bytes", "this is not a configuration")
        raw = path.read_bytes()
    except OSError as exc:
        raise refuse(f"cannot read it: {exc.strerror or exc}", "check its permissions") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [
                ConfigIssue(
                    f"{path}:{line}",
                    "(file)",
                    f"not UTF-8 (byte {raw[exc.start]:#04x})",
                    "save the file as UTF-8",
                )
            ]
        ) from None


def _compose(path: Path, text: str) -> yaml.Node | None:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        raise ConfigError(
            [
                ConfigIssue(
                    str(path),
                    "(syntax)",
                    "nested too deeply",
                    "a configuration is a few levels deep",
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(
            [ConfigIssue(where, "(syntax)", str(exc).splitlines()[0], "fix the YAML syntax")]
        ) from None
    if node is not None:
        _check_expansion(path, node)
    return node


def _check_expansion(path: Path, root: yaml.Node) -> None:
    # Imported when a file is read: the command line names CONFIG_ENV in every command's
    # options, and must not load the mapping engine to do so.
    from dispatcher.mapping.document import expansion_problem

    oversized = expansion_problem(root)
    if oversized is not None:
        where = f"{path}:{oversized.line}"
        raise ConfigError([ConfigIssue(where, "(structure)", oversized.problem, oversized.fix)])


def _line_index(node: yaml.Node | None, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], int]:
    """Map every key path of the document to its 1-based line."""
    index: dict[tuple[str, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = (*prefix, str(key.value))
            index.setdefault(path, key.start_mark.line + 1)
            index.update(_line_index(value, path))
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            path = (*prefix, str(position))
            index[path] = item.start_mark.line + 1
            index.update(_line_index(item, path))
    return index
