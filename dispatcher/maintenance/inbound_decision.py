"""What one change read from Salesforce does to one storefront row: the rules of ownership.

Per field, in the mapping's inbound section:

- a value equal to the storefront's changes nothing (this is how the outbox's own writes come
  back: the value it wrote is the storefront's, so there is nothing to apply, no echo);
- a field the storefront owns is never written (a new row, which has no value yet, takes it);
- a field Salesforce did not change since it was last read is left alone, whatever the
  storefront holds: the storefront's newer value is on its way out through the outbox;
- a shared field that both sides changed since the last sync is a conflict: the section's
  ``conflict_winner`` keeps its value and the conflict is recorded;
- anything else Salesforce changed is written; a value the storefront's column cannot hold
  (``inbound_write`` finds it) makes the change a conflict naming the field, value and limit.

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

BOTH_SIDES = "changed on both sides"


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
    for spec in section.fields:
        value = normal(change.fields.get(spec.field))
        held = None if current is None else normal(current.get(spec.column))
        if value == held:
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
    if conflicts:
        return Decision(InboundStatus.CONFLICT, values, conflicts, BOTH_SIDES)
    if values:
        return Decision(InboundStatus.APPLIED, values)
    return Decision(InboundStatus.SKIPPED, detail=_why_nothing(kept, ours))


def unheld(
    section: InboundMapping,
    decision: Decision,
    held: Mapping[str, Any],
    refused: Mapping[str, str],
    whole: str | None,
) -> Decision:
    """``decision`` once the storefront refused to hold some of its values (``refused``: why,
    by column) or the change as a whole (``whole``): a conflict naming each field, its value
    and the limit it went past; what it did hold stays written. The storefront keeps its value,
    and the field is applied again once Salesforce changes it to one that fits."""
    fields = {spec.column: spec.field for spec in section.fields}
    conflicts = list(decision.conflicts)
    reasons = []
    for column, why in sorted(refused.items()):
        value = decision.set.get(column)
        reason = f"{fields[column]} {shown(value)} does not fit {section.into}.{column}: {why}"
        conflicts.append(
            _entry(fields[column], column, held.get(column), value, "storefront", reason)
        )
        reasons.append(reason)
    if whole is not None:
        reasons.append(f"the change does not fit {section.into}: {whole}")
    kept = {} if whole is not None else {c: v for c, v in decision.set.items() if c not in refused}
    return Decision(InboundStatus.CONFLICT, kept, conflicts, "; ".join(reasons))


def _changed_in_salesforce(
    spec: InboundField, value: Any, previous: Mapping[str, Any] | None, ours: bool
) -> bool:
    if previous is not None and spec.field in previous:
        return bool(value != normal(previous[spec.field]))
    return not ours


def _conflict(spec: InboundField, held: Any, value: Any, winner: str) -> dict[str, Any]:
    return _entry(spec.field, spec.column, held, value, winner, BOTH_SIDES)


def _entry(name: str, column: str, held: Any, value: Any, kept: str, reason: str) -> dict[str, Any]:
    """One entry of ``inbound_changes.conflicts``, as ``outbox.inbound_conflicts`` lists it."""
    return {
        "field": name,
        "column": column,
        "storefront": _text(held),
        "salesforce": _text(value),
        "kept": kept,
        "reason": reason,
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
    """A value as the conflicts list shows it; a number in plain digits (150, not 1.5E+2)."""
    if value is None:
        return None
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def shown(value: Any) -> str:
    """A value as a reason quotes it: text in quotes, anything else as it reads."""
    return f"'{value}'" if isinstance(value, str) else str(_text(value))


def json_value(value: Any) -> Any:
    """A decided value as the apply statement's JSON carries it."""
    return str(value) if isinstance(value, Decimal) else value
