"""Generated hostile configurations and mapping folders: a named error, never a traceback or a
hang. Hypothesis runs derandomized (the same examples on every run), so CI cannot go red by
chance; each example must finish within the stated bound."""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatcher.config import Config, load
from dispatcher.core.errors import ConfigError
from dispatcher.mapping import check
from dispatcher.mapping.errors import MappingIssue
from outbox.resources import resource_dir

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "outbox.yaml"
ENV = {"SALESFORCE_CLIENT_SECRET": "s", "THINKIFIC_API_KEY": "k"}
BOUND = 1.0  # seconds for one file, however hostile
FILES = settings(
    derandomize=True,
    max_examples=60,
    deadline=None,  # the bound is asserted below, with room for a loaded CI machine
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

hostile_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([math.inf, -math.inf, math.nan, 1e30, -1e-30, 0.0]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["", " ", "ö\u202e", "a\nb", "x" * 5000, "http://", "::1", "$(rm -rf /)"]),
)
hostile_values = st.recursive(
    hostile_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def leaf_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in leaf_paths(v, (*prefix, k))] or [prefix]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in leaf_paths(v, (*prefix, i))] or [prefix]
    return [prefix]


def replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, *rest = path
    copy = dict(document) if isinstance(document, dict) else list(document)
    copy[head] = replaced(document[head], tuple(rest), value)
    return copy


def load_within_bound(path: Path) -> Config | ConfigError:
    started = time.perf_counter()
    result: Config | ConfigError
    try:
        result = load(path, environ=ENV)
    except ConfigError as exc:
        result = exc
    assert time.perf_counter() - started < BOUND
    if isinstance(result, ConfigError):
        assert result.issues
        assert all(i.where.startswith(str(path)) and i.fix for i in result.issues)
    return result


@FILES
@given(text=st.text(max_size=400))
def test_config_any_text_is_a_config_or_a_named_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "outbox.yaml"
    path.write_text(text, encoding="utf-8")
    load_within_bound(path)


@FILES
@given(data=st.binary(max_size=200))
def test_config_any_bytes_is_a_config_or_a_named_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "outbox.yaml"
    path.write_bytes(data)
    load_within_bound(path)


@FILES
@given(choice=st.data(), value=hostile_values)
def test_config_sample_with_one_hostile_value(tmp_path: Path, choice: Any, value: Any) -> None:
    document = yaml.safe_load(SAMPLE.read_text())
    target = choice.draw(st.sampled_from(leaf_paths(document)))
    path = tmp_path / "outbox.yaml"
    path.write_text(yaml.safe_dump(replaced(document, target, value)))
    load_within_bound(path)


@FILES
@given(choice=st.data(), key=st.text(min_size=1, max_size=30))
def test_config_sample_with_one_unknown_key(tmp_path: Path, choice: Any, key: str) -> None:
    document = yaml.safe_load(SAMPLE.read_text())
    target = choice.draw(st.sampled_from([p[:-1] for p in leaf_paths(document) if p]))
    parent: Any = document
    for part in target:
        parent = parent[part]
    if not isinstance(parent, dict) or key in parent:
        return
    parent[key] = 1
    path = tmp_path / "outbox.yaml"
    path.write_text(yaml.safe_dump(document))
    result = load_within_bound(path)
    assert isinstance(result, ConfigError)


@FILES
@given(width=st.integers(2, 12), depth=st.integers(2, 12))
def test_config_alias_bombs_are_refused_fast(tmp_path: Path, width: int, depth: int) -> None:
    lines = [f"l0: &l0 [{', '.join(['x'] * width)}]"]
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * width)}]" for n in range(1, depth)]
    path = tmp_path / "outbox.yaml"
    path.write_text("\n".join(lines) + "\n")
    result = load_within_bound(path)
    assert isinstance(result, ConfigError)


def mapping_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "mappings"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(resource_dir("mappings"), folder)
    return folder


def check_within_bound(folder: Path) -> tuple[MappingIssue, ...]:
    started = time.perf_counter()
    issues = check(folder)
    assert time.perf_counter() - started < 3 * BOUND  # three files, each compiled
    assert all(isinstance(issue, MappingIssue) and issue.fix for issue in issues)
    return issues


@FILES
@given(choice=st.data(), value=hostile_values)
def test_mapping_with_one_hostile_value_is_checked_not_crashed(
    tmp_path: Path, choice: Any, value: Any
) -> None:
    folder = mapping_folder(tmp_path)
    name = choice.draw(st.sampled_from(["salesforce.yaml", "thinkific.yaml"]))
    document = yaml.safe_load((folder / name).read_text())
    target = choice.draw(st.sampled_from(leaf_paths(document)))
    (folder / name).write_text(yaml.safe_dump(replaced(document, target, value)))
    check_within_bound(folder)


@FILES
@given(text=st.text(max_size=400))
def test_mapping_any_text_is_a_named_error(tmp_path: Path, text: str) -> None:
    folder = mapping_folder(tmp_path)
    (folder / "thinkific.yaml").write_text(text, encoding="utf-8")
    check_within_bound(folder)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("version: 1\ndestination: xsalesforce\n", "destination"),
        ("a: &a [*a]\n", "an alias refers to a node that contains it"),
        (
            "\n".join(
                [
                    f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" if n else "l0: &l0 [x]"
                    for n in range(9)
                ]
            ),
            "aliases expand it",
        ),
        ("o: " + "[" * 3000 + "]" * 3000, "nest"),
    ],
)
def test_mapping_hostile_file_names_its_problem(tmp_path: Path, text: str, problem: str) -> None:
    folder = mapping_folder(tmp_path)
    (folder / "salesforce.yaml").write_text(text)
    issues = check_within_bound(folder)
    assert any(problem in str(issue) for issue in issues), issues


def test_mapping_not_utf8_is_a_named_error(tmp_path: Path) -> None:
    folder = mapping_folder(tmp_path)
    (folder / "thinkific.yaml").write_bytes(b"version: 1\ndestination: thinkific\x00\xff\n")
    assert any("UTF-8" in str(issue) for issue in check_within_bound(folder))
