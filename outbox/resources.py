"""Where the files that ship beside the code live: SQL, migrations and mappings.

An installed wheel carries them inside the package (``outbox/_resources``); a checkout keeps them
at the top level of the repository, where the layout shows the architecture. Both are found the
same way, so ``outbox migrate`` works from either.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def resource_dir(name: str) -> Path:
    """Return the directory of a shipped resource (``sql``, ``migrations`` or ``mappings``)."""
    for candidate in (_PACKAGE_DIR / "_resources" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"the {name!r} folder is missing: looked in {_PACKAGE_DIR / '_resources'} and "
        f"{_PACKAGE_DIR.parent}; reinstall the package (pip install .) or run from a checkout"
    )
