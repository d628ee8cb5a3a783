"""Merging duplicate Accounts or Contacts, as a person does it in Salesforce.

The rules are the platform's merge (SOAP API Developer Guide, ``merge()``; Apex Developer Guide,
"Merging Records"): only Leads, Contacts and Accounts merge; one master and at most two records
merged into it, all of the master's type; the merged records are deleted, each with
``MasterRecordId`` set to the master's Id; the records related to them (a Contact's Account, an
Order's Account or BillToContact, a registration's Contact) are reparented to the master. Every
record touched moves its ``SystemModstamp``, so a ``queryAll`` over a watermark sees the deleted
records, with ``IsDeleted = true`` and their ``MasterRecordId``.
"""

from __future__ import annotations

from sandboxes.salesforce.errors import NOT_FOUND, ApiError, RequestFailed
from sandboxes.salesforce.schema import ObjectSpec
from sandboxes.salesforce.state import SandboxState
from sandboxes.salesforce.writes import stamps

MERGEABLE = ("Account", "Contact", "Lead")
MAX_MERGED = 2  # "up to three records": the master and two more


def merge(
    state: SandboxState, spec: ObjectSpec, master_id: str, merged_ids: list[str], *, by: str
) -> None:
    """Merge ``merged_ids`` into ``master_id``; refused as a whole, changing nothing, when any
    rule is broken."""
    if spec.name not in MERGEABLE:
        raise RequestFailed(
            400, ApiError("INVALID_TYPE", f"merge is not supported for {spec.name}")
        )
    if not merged_ids or len(merged_ids) > MAX_MERGED:
        raise RequestFailed(
            400,
            ApiError(
                "INVALID_OPERATION",
                f"A merge takes one master and one or two records to merge; got {len(merged_ids)}",
            ),
        )
    store = state.store
    master = store.get(spec.name, master_id)
    if master is None:
        raise RequestFailed(404, _gone(state, spec, master_id))
    losers = []
    for record_id in merged_ids:
        if record_id[:15] == master["Id"][:15]:
            raise RequestFailed(
                400, ApiError("INVALID_OPERATION", "cannot merge a record with itself")
            )
        loser = store.get(spec.name, record_id)
        if loser is None:
            raise RequestFailed(404, _gone(state, spec, record_id))
        losers.append(loser)
    audit = stamps(state, by)
    for loser in losers:
        _reparent(state, spec, loser["Id"], master["Id"], audit)
        store.update(spec.name, loser["Id"], {**audit, "MasterRecordId": master["Id"]})
        store.delete(spec.name, loser["Id"])
    store.update(spec.name, master["Id"], audit)


def _reparent(
    state: SandboxState, spec: ObjectSpec, old_id: str, new_id: str, audit: dict[str, str]
) -> None:
    """Point every live record that refers to ``old_id`` at ``new_id`` instead."""
    store = state.store
    for other in state.schema.objects:
        references = [
            f for f in other.fields if spec.name in f.reference_to and f.name != "MasterRecordId"
        ]
        for field in references:
            children = [
                r
                for r in store.rows(other.name)
                if str(r.get(field.storage) or "")[:15] == old_id[:15]
            ]
            for child in children:
                store.update(other.name, child["Id"], {field.storage: new_id, **audit})


def _gone(state: SandboxState, spec: ObjectSpec, record_id: str) -> ApiError:
    if record_id[:15] in state.store.deleted[spec.name]:
        return ApiError("ENTITY_IS_DELETED", "entity is deleted", ())
    return NOT_FOUND
