"""Named SQL statements loaded from ``sql/queries/*.sql``.

Every runtime statement lives in a ``.sql`` file as a named block::

    -- name: claim_messages :many
    -- Claim up to %(limit)s live messages of one destination.
    UPDATE ...

so a DBA can read and EXPLAIN exactly what the code runs. The loader only splits the files; it
never builds SQL from strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from outbox.resources import resource_dir

_HEADER = re.compile(r"^--\s*name:\s*(?P<name>[a-z_][a-z0-9_]*)\s*(?P<kind>:\w+)?\s*$", re.M)


@dataclass(frozen=True, slots=True)
class Query:
    name: str
    kind: str
    description: str
    sql: str


def parse_queries(text: str, source: str) -> dict[str, Query]:
    """Split one file's text into its named blocks."""
    headers = list(_HEADER.finditer(text))
    if not headers:
        raise ValueError(f"{source}: no '-- name: <query> :<kind>' header found")
    queries: dict[str, Query] = {}
    for index, header in enumerate(headers):
        end = headers[index + 1].start() if index + 1 < len(headers) else len(text)
        body_lines = text[header.end() : end].strip().splitlines()
        description = []
        while body_lines and body_lines[0].startswith("--"):
            description.append(body_lines.pop(0).lstrip("-").strip())
        name = header["name"]
        if name in queries:
            raise ValueError(f"{source}: query {name!r} is defined twice")
        queries[name] = Query(
            name=name,
            kind=(header["kind"] or ":exec").lstrip(":"),
            description=" ".join(description),
            sql="\n".join(body_lines).strip().rstrip(";"),
        )
    return queries


@cache
def load_queries(directory: Path | None = None) -> dict[str, Query]:
    """Load every named block under ``sql/queries``; names are unique across files."""
    folder = directory or resource_dir("sql") / "queries"
    queries: dict[str, Query] = {}
    for path in sorted(folder.glob("*.sql")):
        for name, query in parse_queries(path.read_text(encoding="utf-8"), str(path)).items():
            if name in queries:
                raise ValueError(f"{path}: query {name!r} is also defined in another file")
            queries[name] = query
    return queries


def query(name: str) -> str:
    """Return the SQL text of one named statement."""
    try:
        return load_queries()[name].sql
    except KeyError:
        raise KeyError(f"no SQL query named {name!r} under sql/queries") from None
