"""From a claimed batch to the records to write: map, look up, de-duplicate, choose bodies.

Every message is mapped first, so a message the mapping refuses dies here without an API call.
The surviving records are merged across the batch by object type and external ID (two orders of
one clinic write its Account once) and ordered parents first, by the references the mapping
declares, so a child never reaches Salesforce before the record it points at.

Field ownership. The mapping sends fields Salesforce owns (``owner: salesforce``), fields it
will not update (``OrderItem.OrderId``) and fields locked after activation (``create_only``) on
create only. The destination remembers every record it has written in
``outbox.salesforce_ids``; a key found there, and every record of an ``update_only`` section, is
sent with the update body as an upsert; any other key is *created* (``POST
/composite/sobjects``), never upserted, so a create body can never land on a record that exists.
This costs no API call, unlike a SOQL existence check per object type. The one gap is a crash
between the write and remembering it: the redelivery then tries to create a record that exists,
Salesforce refuses the duplicate external ID (DUPLICATE_VALUE), and the writer sends that
record's update body instead. An update body left empty (a known order line: every field is set
at create) is not sent at all: the record is there and nothing in it may change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dispatcher.core.destination import Message, Outcome, Result
from dispatcher.mapping import DestinationMapping, MappedRecord, MappingError, Operation

Key = tuple[str, str]
"""(object name, external-ID value) of one record."""


@dataclass(frozen=True, slots=True)
class Known:
    """A storefront key the destination wrote before, from ``outbox.salesforce_ids``."""

    upsert_key: str
    salesforce_id: str
    matched_by: str = "external_id"
    version: int | None = None  # the customer profile version last written to the record


@dataclass(slots=True)
class RecordWrite:
    """One record of the batch, shared by every message that produces it."""

    object_name: str
    external_id_field: str
    upsert_key: str
    operation: Operation
    body: dict[str, Any]
    update_body: dict[str, Any]  # what to resend if a record sent for creation already exists
    storefront_keys: set[str] = field(default_factory=set)
    matched_by: str = "external_id"
    salesforce_id: str | None = None  # known from an earlier write
    version: int | None = None  # customer profile version of the body, for a customer's record

    @property
    def unchanged(self) -> bool:
        """A known record with nothing to update: no call is spent on it."""
        return self.operation is Operation.UPDATE and not self.body and bool(self.salesforce_id)

    @property
    def key(self) -> Key:
        return (self.object_name, self.upsert_key)

    def payload(self) -> dict[str, Any]:
        """The record as sObject Collections wants it: typed, with its external-ID value."""
        return {
            "attributes": {"type": self.object_name},
            **self.body,
            self.external_id_field: self.upsert_key,
        }


@dataclass(frozen=True, slots=True)
class MessagePlan:
    message: Message
    keys: tuple[Key, ...]  # the message's records, parents first
    primary: Key | None  # whose Salesforce Id the outcome records


@dataclass(frozen=True, slots=True)
class BatchPlan:
    messages: tuple[MessagePlan, ...]
    writes: dict[Key, RecordWrite]  # in the order they must be sent
    refused: tuple[Outcome, ...]


def object_order(mapping: DestinationMapping) -> tuple[str, ...]:
    """Object types parents first: a topological order of the sections' references, ties
    broken by where the type first appears in the mapping's event lists."""
    first_seen: dict[str, int] = {}
    for sections in mapping.events.values():
        for index, section in enumerate(sections):
            first_seen[section.object_name] = min(first_seen.get(section.object_name, index), index)
    parents: dict[str, set[str]] = {name: set() for name in first_seen}
    for section in mapping.sections.values():
        parents.setdefault(section.object_name, set()).update(
            p for p in section.references if p != section.object_name
        )
    ordered: list[str] = []
    pending = sorted(parents, key=lambda name: (first_seen.get(name, 99), name))
    while pending:
        ready = next((n for n in pending if parents[n] <= set(ordered)), pending[0])
        ordered.append(ready)
        pending.remove(ready)
    return tuple(ordered)


def map_batch(
    mapping: DestinationMapping,
    batch: Sequence[Message],
    lookup: Callable[[str, str], Any],
) -> tuple[list[tuple[Message, tuple[MappedRecord, ...]]], list[Outcome]]:
    """Each message's records, or a dead outcome naming the object and field at fault."""
    mapped: list[tuple[Message, tuple[MappedRecord, ...]]] = []
    refused: list[Outcome] = []
    for message in batch:
        try:
            records = mapping.apply(message.event_type, message.payload, lookup).records
        except MappingError as exc:
            refused.append(Outcome(message.id, Result.DEAD, None, "MAPPING_ERROR", str(exc)))
            continue
        mapped.append((message, records))
    return mapped, refused


def refuse_blocked(
    mapped: list[tuple[Message, tuple[MappedRecord, ...]]], blocked: Mapping[str, str]
) -> tuple[list[tuple[Message, tuple[MappedRecord, ...]]], list[Outcome]]:
    """Messages with a record of a section the drift check found unable to write die at once,
    naming the field, instead of failing against the org on every retry."""
    if not blocked:
        return mapped, []
    kept, refused = [], []
    for message, records in mapped:
        section = next((r.section for r in records if r.section in blocked), None)
        if section is None:
            kept.append((message, records))
            continue
        text = (
            f"mapping drift: {blocked[section]}; section {section} cannot write it. Fix the "
            "mapping or the org, check with `outbox mappings check --against salesforce`, "
            "then retry the dead letters"
        )
        refused.append(Outcome(message.id, Result.DEAD, None, "MAPPING_DRIFT", text))
    return kept, refused


def plan_batch(
    mapping: DestinationMapping,
    mapped: Iterable[tuple[Message, tuple[MappedRecord, ...]]],
    known: Mapping[Key, Known],
    refused: Sequence[Outcome] = (),
) -> BatchPlan:
    order = {name: rank for rank, name in enumerate(object_order(mapping))}
    aliases = _aliases(mapping, known)
    updating = frozenset(name for name, s in mapping.sections.items() if s.update_only)
    writes: dict[Key, RecordWrite] = {}
    plans: list[MessagePlan] = []
    for message, records in mapped:
        customer, version = customer_snapshot(message)
        keys = []
        for record in records:
            own = version if str(record.external_id) == customer else None
            found = known.get(_own(record))
            update_only = record.section in updating
            keys.append(_merge(writes, record, found, aliases, update_only, own))
        plans.append(MessagePlan(message, tuple(keys), _primary(mapping, records, keys)))
    ranked = sorted(writes.values(), key=lambda w: order.get(w.object_name, len(order)))
    return BatchPlan(tuple(plans), {w.key: w for w in ranked}, tuple(refused))


def _own(record: MappedRecord) -> Key:
    return (record.object_name, str(record.external_id))


def _merge(
    writes: dict[Key, RecordWrite],
    record: MappedRecord,
    known: Known | None,
    aliases: Mapping[tuple[str, str], str],
    update_only: bool,
    version: int | None,
) -> Key:
    """Add one message's record; the batch's last message wins where two disagree, and a
    record any message creates is created. A customer's record (keyed by the customer) is left
    as it is when the message's snapshot is older than the one last written to it."""
    upsert_key = known.upsert_key if known else str(record.external_id)
    write = writes.get((record.object_name, upsert_key))
    newest = max((v for v in (known and known.version, write and write.version) if v), default=0)
    if known is not None and version is not None and version < newest:
        if write is None:
            write = RecordWrite(
                record.object_name, record.external_id_field, upsert_key, Operation.UPDATE, {},
                {}, matched_by=known.matched_by, salesforce_id=known.salesforce_id,
            )  # fmt: skip
            writes[write.key] = write
        write.storefront_keys.add(str(record.external_id))
        return write.key
    operation = Operation.UPDATE if known or update_only else Operation.CREATE
    # A Contact found by e-mail, or one a merge chose as survivor, is someone else's record too.
    attached = known is not None and known.matched_by in ("email", "merge")
    body = _body(record, operation, aliases, attached)
    update_body = (
        body
        if operation is Operation.UPDATE
        else _body(record, Operation.UPDATE, aliases, attached)
    )
    if write is None:
        write = RecordWrite(
            record.object_name, record.external_id_field, upsert_key, operation, dict(body),
            dict(update_body), matched_by=known.matched_by if known else "external_id",
            salesforce_id=known.salesforce_id if known else None,
        )  # fmt: skip
        writes[write.key] = write
    else:
        if operation is Operation.CREATE and write.operation is Operation.UPDATE:
            write.operation = Operation.CREATE
        write.body.update(body)
        write.update_body.update(update_body)
    if version is not None:
        write.version = max(version, write.version or 0)
    write.storefront_keys.add(str(record.external_id))
    return write.key


def customer_snapshot(message: Message) -> tuple[str | None, int | None]:
    """(customer key, profile version) of the customer a message speaks for: the snapshot an
    order carries (``customer.version``) or a profile change (``version``)."""
    payload = message.payload
    customer = payload.get("customer")
    if not isinstance(customer, dict) or not isinstance(customer.get("id"), str):
        return None, None
    version = payload.get("version") if "changes" in payload else customer.get("version")
    return customer["id"], version if isinstance(version, int) else None


def _body(
    record: MappedRecord,
    operation: Operation,
    aliases: Mapping[tuple[str, str], str],
    attached: bool,
) -> dict[str, Any]:
    body = {
        key: _alias(value, aliases)
        for key, value in record.body(operation).items()
        if key != record.external_id_field
    }
    if attached:
        # A Contact found by its e-mail keeps its own Account: never move it.
        body = {k: v for k, v in body.items() if not isinstance(v, dict)}
    return body


def _aliases(mapping: DestinationMapping, known: Mapping[Key, Known]) -> dict[tuple[str, str], str]:
    """(external-ID field, storefront key) → the key a parent is really written under, so a
    child points at the Contact a guest was attached to."""
    fields = {s.object_name: s.external_id.target for s in mapping.sections.values()}
    return {
        (fields[obj], key): found.upsert_key
        for (obj, key), found in known.items()
        if found.upsert_key != key and obj in fields
    }


def _alias(value: Any, aliases: Mapping[tuple[str, str], str]) -> Any:
    if not aliases or not isinstance(value, dict) or len(value) != 1:
        return value
    ((name, key),) = value.items()
    return {name: aliases.get((name, str(key)), key)}


def _primary(
    mapping: DestinationMapping, records: Sequence[MappedRecord], keys: Sequence[Key]
) -> Key | None:
    """The event's own record (the Order of an order, the registration of a registration):
    the last record not written once per list item; accounts and contacts come before it."""
    primary = None
    for record, key in zip(records, keys, strict=True):
        if mapping.sections[record.section].for_each is None:
            primary = key
    return primary
