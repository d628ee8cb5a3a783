"""Hold the mapping in use and replace it only with one that validated completely.

IT staff edit the YAML while the dispatcher runs. A reload reads and compiles the new files
aside; only a fully valid result replaces the current one, in a single reference assignment,
so a worker mid-batch keeps the object it started with and never sees half of an edit. A bad
edit leaves the old mapping running and returns (and logs) every problem.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dispatcher.mapping.compiled import Mappings
from dispatcher.mapping.errors import MappingConfigError, MappingIssue
from dispatcher.mapping.load import load

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """``version`` is the one in use after the reload; ``issues`` why a new one was refused."""

    changed: bool
    version: str
    issues: tuple[MappingIssue, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.issues


class MappingSet:
    """The current ``Mappings`` of one folder. Construction loads it and raises on a bad file,
    so a dispatcher never starts without a valid mapping."""

    def __init__(self, directory: Path, *, loader: Callable[[Path], Mappings] = load) -> None:
        self._directory = Path(directory)
        self._loader = loader
        self._lock = threading.Lock()
        self._current = loader(self._directory)

    @property
    def current(self) -> Mappings:
        return self._current

    def reload(self) -> ReloadResult:
        with self._lock:
            old = self._current
            try:
                new = self._loader(self._directory)
            except MappingConfigError as exc:
                log.error(
                    "mapping reload refused; keeping version %s:\n%s",
                    old.version,
                    exc,
                )
                return ReloadResult(False, old.version, exc.issues)
            self._current = new
        if new.version != old.version:
            log.info("mapping reloaded: version %s replaces %s", new.version, old.version)
        return ReloadResult(new.version != old.version, new.version)
