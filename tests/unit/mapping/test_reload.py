"""MappingSet: a reload swaps only to a fully valid mapping; a bad edit keeps the old one."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from dispatcher.mapping import MappingConfigError
from dispatcher.mapping.reload import MappingSet
from tests.unit.mapping.conftest import MappingDirFactory
from tests.unit.mapping.test_load import BASE


def test_reload_with_a_bad_file_keeps_the_old_mapping(
    mapping_dir_factory: MappingDirFactory, caplog: pytest.LogCaptureFixture
) -> None:
    directory = mapping_dir_factory(BASE)
    holder = MappingSet(directory)
    before = holder.current
    (directory / "salesforce.yaml").write_text(BASE.replace("[trim, truncate]", "[trimm]"))
    with caplog.at_level(logging.ERROR):
        result = holder.reload()
    assert not result.ok
    assert not result.changed
    assert result.version == before.version
    assert "unknown transform 'trimm'" in result.issues[0].message
    assert holder.current is before
    assert "keeping version" in caplog.text


def test_reload_with_a_valid_edit_swaps_the_mapping(mapping_dir_factory: MappingDirFactory) -> None:
    directory = mapping_dir_factory(BASE)
    holder = MappingSet(directory)
    before = holder.current
    assert holder.reload() == type(holder.reload())(False, before.version)
    (directory / "salesforce.yaml").write_text(
        BASE.replace("{card: Card}", "{card: Card, cash: Card}")
    )
    result = holder.reload()
    assert result.ok
    assert result.changed
    assert holder.current.version == result.version != before.version


def test_mapping_set_refuses_to_start_on_a_bad_file(
    mapping_dir_factory: MappingDirFactory, tmp_path: Path
) -> None:
    directory = mapping_dir_factory(BASE.replace("Status: {value: Draft}", "Status: {value: Nope}"))
    with pytest.raises(MappingConfigError, match="restricted picklist"):
        MappingSet(directory)
