"""Who a record already is in the org: keys this destination wrote, and guests found by e-mail.

A customer is matched by external ID (the upsert does that). A guest checkout carries a new
storefront key, yet the person may already be a Contact under another key (an account holder
who checked out as a guest) or under none (entered by hand in Salesforce). Before its first
write, a guest's Contact is looked for by e-mail, one SOQL query per batch: one match with
another key attaches the guest to it (the batch writes under that key, children point at it);
one match without a key gets the guest's key written onto it; several matches are kept in
``outbox.identity_conflicts`` for a person, and the guest gets a Contact of its own meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import psycopg

from dispatcher.core.destination import Message
from dispatcher.destinations.salesforce.api import SalesforceApi, soql_literal
from dispatcher.destinations.salesforce.plan import Key, Known, RecordWrite
from dispatcher.destinations.salesforce.upsert import RecordResult
from dispatcher.mapping import MappedRecord
from outbox.queries import query

CONTACT = "Contact"
EMAILS_PER_QUERY = 100
Mapped = Sequence[tuple[Message, tuple[MappedRecord, ...]]]


async def known_ids(
    conn: psycopg.AsyncConnection[Any], destination: str, mapped: Mapped
) -> dict[Key, Known]:
    keys = sorted({(r.object_name, str(r.external_id)) for _, records in mapped for r in records})
    if not keys:
        return {}
    cursor = await conn.execute(
        query("salesforce_known_ids"),
        {"destination": destination, "objects": [k[0] for k in keys], "keys": [k[1] for k in keys]},
    )
    return {(o, k): Known(u, s, m, version=v) for o, k, u, s, v, m in await cursor.fetchall()}


async def blocked_sections(
    conn: psycopg.AsyncConnection[Any], destination: str, version: str
) -> dict[str, str]:
    """Section → the drift finding that makes its writes impossible, from the latest drift
    check of this mapping version (``outbox.mapping_drift.blocks``)."""
    cursor = await conn.execute(
        query("salesforce_blocked_sections"), {"destination": destination, "version": version}
    )
    return {
        section: f"{obj}.{field}: {kind}: {detail}"
        for section, obj, field, kind, detail in await cursor.fetchall()
    }


def _guests(mapped: Mapped, known: Mapping[Key, Known]) -> dict[str, tuple[Message, MappedRecord]]:
    """E-mail → the guest Contact record not yet known to the destination."""
    found: dict[str, tuple[Message, MappedRecord]] = {}
    for message, records in mapped:
        customer = message.payload.get("customer")
        if not isinstance(customer, dict) or customer.get("guest") is not True:
            continue
        email = str(customer.get("email") or "").strip().lower()
        for record in records:
            key = (record.object_name, str(record.external_id))
            if record.object_name == CONTACT and email and key not in known:
                found[email] = (message, record)
    return found


def has_guests(mapped: Mapped, known: Mapping[Key, Known]) -> bool:
    """Whether ``match_guests`` would look anyone up: a guest's Contact not yet known."""
    return bool(_guests(mapped, known))


async def match_guests(
    api: SalesforceApi,
    conn: psycopg.AsyncConnection[Any],
    destination: str,
    mapped: Mapped,
    known: Mapping[Key, Known],
) -> dict[Key, Known]:
    guests = _guests(mapped, known)
    if not guests:
        return {}
    field = next(iter(guests.values()))[1].external_id_field
    rows = await _contacts_by_email(api, sorted(guests), field)
    matches: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        matches.setdefault(str(row.get("Email") or "").lower(), []).append(row)
    attached: dict[Key, Known] = {}
    claims: list[tuple[Key, str]] = []
    for email, (message, record) in guests.items():
        own = str(record.external_id)
        found = matches.get(email, [])
        if len(found) > 1 and not any(r.get(field) == own for r in found):
            await _conflict(conn, destination, own, email, found, message.id)
        elif len(found) == 1 and found[0].get(field) not in (None, "", own):
            attached[(CONTACT, own)] = Known(str(found[0][field]), str(found[0]["Id"]), "email")
        elif len(found) == 1 and not found[0].get(field):
            claims.append(((CONTACT, own), str(found[0]["Id"])))
    attached |= await _claim(api, field, claims)
    return attached


async def _contacts_by_email(
    api: SalesforceApi, emails: list[str], field: str
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for start in range(0, len(emails), EMAILS_PER_QUERY):
        literals = ", ".join(soql_literal(e) for e in emails[start : start + EMAILS_PER_QUERY])
        soql = f"SELECT Id, Email, {field} FROM Contact WHERE Email IN ({literals})"
        rows += await api.query(soql)
    return rows


async def _claim(api: SalesforceApi, field: str, claims: list[tuple[Key, str]]) -> dict[Key, Known]:
    """Write the guest's key onto a keyless Contact (``PATCH /composite/sobjects``, update by
    Id, API-NOTES §1.3), so the upsert that follows finds it."""
    if not claims:
        return {}
    records = [
        {"attributes": {"type": CONTACT}, "id": sf_id, field: key[1]} for key, sf_id in claims
    ]
    answer = await api.call(
        "PATCH", "/composite/sobjects", json={"allOrNone": False, "records": records}
    )
    return {
        key: Known(key[1], sf_id, "email")
        for (key, sf_id), result in zip(claims, answer or [], strict=False)
        if result.get("success")
    }


async def _conflict(
    conn: psycopg.AsyncConnection[Any],
    destination: str,
    own: str,
    email: str,
    found: list[dict[str, Any]],
    message_id: int,
) -> None:
    await conn.execute(query("salesforce_identity_conflict"), {
        "destination": destination, "object_name": CONTACT, "storefront_key": own,
        "match_field": "Email", "match_value": email,
        "candidate_ids": [str(r["Id"]) for r in found], "message_id": message_id,
    })  # fmt: skip


async def remember(
    conn: psycopg.AsyncConnection[Any],
    destination: str,
    writes: Iterable[RecordWrite],
    results: Mapping[Key, RecordResult],
) -> None:
    rows = [
        (w.object_name, key, w.upsert_key, result.salesforce_id, w.matched_by, w.version)
        for w in writes
        if (result := results.get(w.key)) is not None and result.salesforce_id
        for key in sorted(w.storefront_keys)
    ]
    if not rows:
        return
    columns = ("objects", "keys", "upsert_keys", "salesforce_ids", "matched_by", "versions")
    params: dict[str, Any] = {name: [row[i] for row in rows] for i, name in enumerate(columns)}
    await conn.execute(query("salesforce_remember_ids"), {**params, "destination": destination,
                                                          "now": None})  # fmt: skip
