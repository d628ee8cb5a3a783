"""Fixtures: the shipped mappings, and folders holding a mapping under test beside the schema."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from dispatcher.mapping import Mappings, load

MAPPINGS = Path(__file__).resolve().parents[3] / "mappings"

MappingDirFactory = Callable[..., Path]


@pytest.fixture(scope="session")
def shipped() -> Mappings:
    return load(MAPPINGS)


@pytest.fixture
def mapping_dir_factory(tmp_path: Path) -> MappingDirFactory:
    """Write ``salesforce.yaml`` (and any other files given) next to the declared schema."""

    def make(text: str, name: str = "salesforce.yaml", **others: str) -> Path:
        shutil.copy(MAPPINGS / "salesforce_schema.yaml", tmp_path / "salesforce_schema.yaml")
        (tmp_path / name).write_text(text, encoding="utf-8")
        for other, content in others.items():
            (tmp_path / other).write_text(content, encoding="utf-8")
        return tmp_path

    return make


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the only occurrence of ``needle`` in ``text``."""
    lines = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(lines) == 1, f"{needle!r} occurs on lines {lines}"
    return lines[0]
