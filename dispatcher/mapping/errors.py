"""The two ways a mapping can fail, named by what the caller does next.

``MappingConfigError`` is raised while loading: the files are wrong, nothing is applied, and the
operator fixes the YAML (every issue is listed at once, with file, line and fix, so one edit
round is enough). ``MappingError`` is raised for one message: its payload cannot become valid
records, retrying will not help, and the caller sends the message to ``dead`` with this text
instead of spending an API call on a write the destination would refuse.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MappingIssue:
    """One problem found in a mapping or schema file, located well enough to fix it blind."""

    file: str
    line: int | None
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.message} (fix: {self.fix})"


class MappingConfigError(Exception):
    """The mapping files are invalid; carries every issue found, not just the first."""

    def __init__(self, issues: Sequence[MappingIssue]) -> None:
        self.issues: tuple[MappingIssue, ...] = tuple(issues)
        lines = "\n".join(f"  {issue}" for issue in self.issues)
        super().__init__(f"{len(self.issues)} mapping problem(s):\n{lines}")


class MappingError(Exception):
    """A message that can never be mapped: permanent, so it goes to dead without a retry.

    ``object_name`` and ``field`` say where the problem is (``field`` is empty when the whole
    record or message is at fault); ``record`` is the record's external-ID value when known, so
    an operator can tell which order line was wrong.
    """

    def __init__(
        self, object_name: str, field: str, problem: str, *, record: str | None = None
    ) -> None:
        self.object_name = object_name
        self.field = field
        self.problem = problem
        self.record = record
        where = object_name if not record else f"{object_name} {record}"
        if field:
            where = f"{where}.{field}"
        super().__init__(f"{where}: {problem}")


def suggest(name: str, known: Iterable[str]) -> str:
    """The fix for a misspelt name: the closest known spellings, or every choice if none is."""
    choices = sorted(known)
    close = difflib.get_close_matches(name, choices, n=3)
    return f"did you mean {' or '.join(close)}?" if close else f"use one of: {', '.join(choices)}"
