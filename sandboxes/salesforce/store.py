"""The sandbox org's records, in memory, with savepoints for all-or-none requests.

Records are dicts keyed by each field's *storage* name (see ``schema.FieldSpec``). Every change
goes through ``_put``, which keeps the external-ID index and an undo log; a savepoint is a
position in that log, so rolling back a 200-record collection costs 200 steps, not a copy of
the org.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sandboxes.salesforce.ids import make_id

Record = dict[str, Any]


def index_key(value: Any) -> str:
    """External IDs match case-insensitively (the default for unique text fields)."""
    return str(value).casefold()


@dataclass
class WriteCount:
    created: int = 0
    updated: int = 0


@dataclass
class Store:
    """Live and deleted records per sObject, and creates and updates per external ID."""

    live: dict[str, dict[str, Record]] = field(default_factory=lambda: defaultdict(dict))
    deleted: dict[str, dict[str, Record]] = field(default_factory=lambda: defaultdict(dict))
    writes: dict[str, dict[str, WriteCount]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(WriteCount))
    )
    _index: dict[tuple[str, str], dict[str, set[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set))
    )
    _indexed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _undo: list[Callable[[], None]] = field(default_factory=list)
    _open: int = 0
    _counter: int = 0

    def index_fields(self, sobject: str, storage_names: tuple[str, ...]) -> None:
        """Declare which fields of ``sobject`` are external IDs, before any record arrives."""
        self._indexed[sobject] = storage_names

    def new_id(self, prefix: str) -> str:
        self._counter += 1
        return make_id(prefix, self._counter)

    def get(self, sobject: str, record_id: str) -> Record | None:
        return self.live[sobject].get(record_id[:15])

    def find(self, sobject: str, storage: str, value: Any) -> list[Record]:
        ids = self._index[(sobject, storage)].get(index_key(value), set())
        return [self.live[sobject][key] for key in sorted(ids)]

    def rows(self, sobject: str, *, include_deleted: bool = False) -> Iterator[Record]:
        yield from self.live[sobject].values()
        if include_deleted:
            yield from self.deleted[sobject].values()

    def insert(self, sobject: str, record: Record) -> None:
        self._put(sobject, record["Id"][:15], record)

    def update(self, sobject: str, record_id: str, changes: Record) -> Record:
        key = record_id[:15]
        merged = {**self.live[sobject][key], **changes}
        self._put(sobject, key, merged)
        return merged

    def delete(self, sobject: str, record_id: str) -> None:
        key = record_id[:15]
        record = self.live[sobject][key]
        self._put(sobject, key, None)
        self.deleted[sobject][key] = {**record, "IsDeleted": True}
        self._log(lambda: self._forget_deleted(sobject, key))

    def _forget_deleted(self, sobject: str, key: str) -> None:
        self.deleted[sobject].pop(key, None)

    def count_write(self, sobject: str, external_id: Any, *, created: bool) -> None:
        """Counted per external ID and undone by a rollback, so tests can prove "exactly once"."""
        count = self.writes[sobject][str(external_id)]
        attribute = "created" if created else "updated"
        setattr(count, attribute, getattr(count, attribute) + 1)
        self._log(lambda: setattr(count, attribute, getattr(count, attribute) - 1))

    def savepoint(self) -> int:
        self._open += 1
        return len(self._undo)

    def rollback(self, savepoint: int) -> None:
        while len(self._undo) > savepoint:
            self._undo.pop()()
        self.release()

    def release(self) -> None:
        self._open -= 1
        if self._open == 0:
            self._undo.clear()

    def _put(self, sobject: str, key: str, record: Record | None) -> None:
        previous = self.live[sobject].get(key)
        self._reindex(sobject, key, previous, record)
        if record is None:
            self.live[sobject].pop(key, None)
        else:
            self.live[sobject][key] = record
        self._log(lambda: self._restore(sobject, key, previous, record))

    def _restore(
        self, sobject: str, key: str, previous: Record | None, current: Record | None
    ) -> None:
        self._reindex(sobject, key, current, previous)
        if previous is None:
            self.live[sobject].pop(key, None)
        else:
            self.live[sobject][key] = previous

    def _reindex(self, sobject: str, key: str, old: Record | None, new: Record | None) -> None:
        for storage in self._indexed.get(sobject, ()):
            before = None if old is None else old.get(storage)
            after = None if new is None else new.get(storage)
            if before == after:
                continue
            bucket = self._index[(sobject, storage)]
            if before is not None:
                bucket[index_key(before)].discard(key)
            if after is not None:
                bucket[index_key(after)].add(key)

    def _log(self, undo: Callable[[], None]) -> None:
        if self._open:
            self._undo.append(undo)
