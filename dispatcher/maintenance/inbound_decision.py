"""What one change read from Salesforce does to one storefront row: the rules of ownership.

Per field, in the mapping's inbound section:

- a value equal to the storefront's changes nothing (this is how the outbox's own writes come
  back: the value it wrote is the storefront's, so there is nothing to apply, no echo);
- a field the storefront owns is never written (a new row, which has no value yet, takes it);
- a field Salesforce did not change since it was last read is left alone, whatever the
  storefront holds: the storefront's newer value is on its way out through the outbox;
- a shared field that both sides changed since the last sync is a conflict: the section's
  ``conflict_winner`` keeps its value and the conflict is recorded;
- anything else Salesforce changed is written.

"Salesforce changed it" compares with the fields of the record's previous inbox row; for a
record read for the first time, a change made by anyone but the integration user counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from dispatcher.mapping.compiled import InboundField, InboundMapping
from dispatcher.mapping.model import Owner

# What the storefront's columns can hold (their CHECKs and numeric sizes): a value beyond them
# is recorded and not applied, rather than failing the page, and every page after it, forever.
RANGES: Mapping[str, tuple[Decimal, Decimal]] = {
    "credit_limit": (Decimal(0), Decimal("9999999999.99")),
    "discount_percent": (Decimal(0), Decimal(100)),
}


class InboundStatus(StrEnum):
    """Mirrors the CHECK on ``outbox.inbound_changes.status``."""

    PENDING = "pending"
    APPLIED = "applied"
    SKIPPED = "skipped"
    CONFLICT = "conflict"


@dataclass(frozen=True, slots=True)
class Change:
    """One record as ``queryAll`` returned it."""

    record_id: str
    system_modstamp: str
    storefront_key: str | None
    is_deleted: bool
    master_record_id: str | None
    last_modified_by: str | None
    fields: Mapping[str, Any]

    def row(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "system_modstamp": self.system_modstamp.replace("+0000", "+00:00"),
            "storefront_key": self.storefront_key,
            "is_deleted": self.is_deleted,
            "master_record_id": self.master_record_id,
            "last_modified_by": self.last_modified_by,
            "fields": dict(self.fields),
        }


@dataclass(frozen=True, slots=True)
class Decision:
    status: InboundStatus
    set: dict[str, Any] = field(default_factory=dict)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    detail: str | None = None


def change_of(section: InboundMapping, record: Mapping[str, Any]) -> Change:
    return Change(
        record_id=str(record["Id"]),
        system_modstamp=str(record["SystemModstamp"]),
        storefront_key=record.get(section.key_field),
        is_deleted=bool(record.get("IsDeleted")),
        master_record_id=record.get("MasterRecordId"),
        last_modified_by=record.get("LastModifiedById"),
        fields={f.field: record.get(f.field) for f in section.fields},
    )


def decide(
    section: InboundMapping,
    change: Change,
    current: Mapping[str, Any] | None,
    *,
    previous: Mapping[str, Any] | None,
    unsynced: bool,
    integration_user: str | None,
) -> Decision:
    """``current`` is the storefront row (None for a row not there yet); ``previous`` the fields
    the record had when last read; ``unsynced`` says the storefront changed the row since the
    last write to Salesforce."""
    new_row = current is None
    ours = integration_user is not None and change.last_modified_by == integration_user
    values: dict[str, Any] = {}
    conflicts: list[dict[str, Any]] = []
    kept: list[str] = []
    refused: list[str] = []
    for spec in section.fields:
        value = normal(change.fields.get(spec.field))
        held = None if current is None else normal(current.get(spec.column))
        if value == held:
            continue
        if not _fits(spec.column, value):
            refused.append(f"{spec.field} {value} does not fit {spec.column}")
            continue
        if new_row:
            values[spec.column] = value
        elif spec.owner is Owner.STOREFRONT:
            kept.append(spec.field)
        elif not _changed_in_salesforce(spec, value, previous, ours):
            continue
        elif spec.owner is Owner.SHARED and unsynced:
            winner = section.conflict_winner
            conflicts.append(_conflict(spec, held, value, winner))
            if winner == "salesforce":
                values[spec.column] = value
        else:
            values[spec.column] = value
    note = "; ".join(refused) or None
    if conflicts:
        return Decision(InboundStatus.CONFLICT, values, conflicts, note or "changed on both sides")
    if values:
        return Decision(InboundStatus.APPLIED, values, detail=note)
    return Decision(InboundStatus.SKIPPED, detail=note or _why_nothing(kept, ours))


def _fits(column: str, value: Any) -> bool:
    bounds = RANGES.get(column)
    if bounds is None or value is None:
        return True
    return isinstance(value, Decimal) and bounds[0] <= value <= bounds[1]


def _changed_in_salesforce(
    spec: InboundField, value: Any, previous: Mapping[str, Any] | None, ours: bool
) -> bool:
    if previous is not None and spec.field in previous:
        return bool(value != normal(previous[spec.field]))
    return not ours


def _conflict(spec: InboundField, held: Any, value: Any, winner: str) -> dict[str, Any]:
    return {
        "field": spec.field,
        "column": spec.column,
        "storefront": _text(held),
        "salesforce": _text(value),
        "kept": winner,
    }


def _why_nothing(kept: Sequence[str], ours: bool) -> str:
    if kept:
        return "only fields the storefront owns differ: " + ", ".join(kept)
    if ours:
        return "no change: the integration user's own write"
    return "no change"


def normal(value: Any) -> Any:
    """One spelling per value: blank text is null, numbers are exact."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value)).normalize()
    return value


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def json_value(value: Any) -> Any:
    """A decided value as the apply statement's JSON carries it."""
    return str(value) if isinstance(value, Decimal) else value
