"""The outbox package as a storefront installs it: a small core, the reference shop beside it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import outbox
import outbox.shop

# What a storefront's process must not pay for, or be exposed to, by importing the outbox.
HEAVY = ("sqlalchemy", "alembic", "httpx", "pydantic", "yaml", "dispatcher", "sandboxes")


def _loaded_after(statement: str) -> list[str]:
    """Top-level packages loaded by ``statement`` in a fresh interpreter."""
    probe = (
        f"{statement}\n"
        "import json, sys\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded: list[str] = json.loads(done.stdout)
    return loaded


@pytest.mark.parametrize("statement", ["import outbox", "import outbox.shop"])
def test_importing_the_outbox_loads_psycopg_and_orjson_only(statement: str) -> None:
    loaded = _loaded_after(statement)
    assert {"outbox", "psycopg", "orjson"} <= set(loaded)
    assert [name for name in HEAVY if name in loaded] == []


def test_the_core_names_no_shop_module() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import outbox, sys; print(sorted(m for m in sys.modules if m.startswith('outbox')))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "outbox.shop" not in loaded


def test_the_core_exports_publish_and_the_shop_its_calls() -> None:
    assert {"publish", "publish_many", "publish_async", "publish_many_async"} <= set(outbox.__all__)
    assert not {"place_order", "refund", "CartLine"} & set(outbox.__all__)
    assert {"place_order", "record_payment", "refund", "update_customer", "CartLine"} <= set(
        outbox.shop.__all__
    )
    for module, names in ((outbox, outbox.__all__), (outbox.shop, outbox.shop.__all__)):
        assert all(hasattr(module, name) for name in names)


@pytest.mark.parametrize("package", ["outbox", "dispatcher"])
def test_packages_declare_their_types(package: str) -> None:
    root = Path(__file__).resolve().parents[2]
    assert (root / package / "py.typed").is_file()
