"""Changes made in Salesforce, back to the storefront: Contacts to customers, business Accounts
to organisations, merges and deletions to the outbox's identity rows.

Scheduled once across the fleet like the catalog pull. Per inbound section of the mapping, it
reads with ``queryAll`` (so deleted and merged records come too: REST API "QueryAll") every
record whose ``SystemModstamp`` is past the section's watermark, less one second of overlap
because timestamps tie (API-NOTES §1.5), ordered by ``SystemModstamp, Id``, following
``nextRecordsUrl`` page by page (2,000 records a call). Each page is recorded in the inbox,
decided, applied and the watermark moved in one transaction (``inbound_apply``); the overlap
and any page read again find their inbox rows and change nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dispatcher.config import PullChangesConfig
from dispatcher.destinations.salesforce.api import SalesforceApi, soql_literal
from dispatcher.maintenance.inbound_apply import PageContext, PageResult, apply_page
from dispatcher.maintenance.inbound_decision import Change, change_of
from dispatcher.maintenance.org import SalesforceOrg
from dispatcher.maintenance.scheduler import JobContext
from dispatcher.mapping import Mappings, load
from dispatcher.mapping.compiled import InboundMapping
from outbox.queries import query
from outbox.resources import resource_dir

OVERLAP = timedelta(seconds=1)
SYSTEM_FIELDS = ("Id", "IsDeleted", "MasterRecordId", "LastModifiedById", "SystemModstamp")


@dataclass(frozen=True, slots=True)
class Settings:
    """The org to read from, and the job's section of the configuration."""

    org: SalesforceOrg
    job: PullChangesConfig = field(default_factory=PullChangesConfig)


async def run(context: JobContext) -> str:
    settings: Settings = context.settings
    current = context.mappings.current if context.mappings is not None else None
    sections = inbound_sections(current)
    if not sections:
        return "no inbound sections in the Salesforce mapping"
    api = settings.org.api(context, "the changes pull")
    destination = settings.org.name
    total = PageResult()
    for section in sections:
        total.add(await pull_section(context, api, section, destination))
    states = ", ".join(f"{n} {s}" for s, n in sorted(total.statuses.items())) or "none"
    merges = f"; {total.merged} merge(s) followed" if total.merged else ""
    return f"read {total.read} change(s), {total.new} new: {states}{merges}"


def inbound_sections(mappings: Mappings | None) -> list[InboundMapping]:
    """The inbound sections of the mapping in use (the shipped mappings when the daemon holds
    none): organisations first, so a Contact's organisation is there when the Contact arrives."""
    if mappings is None:
        mappings = load(resource_dir("mappings"))
    salesforce = mappings.destinations.get("salesforce")
    found = list(salesforce.inbound.values()) if salesforce is not None else []
    return sorted(found, key=lambda s: s.into != "organisations")


async def pull_section(
    context: JobContext, api: SalesforceApi, section: InboundMapping, destination: str
) -> PageResult:
    async with context.pool.connection() as conn:
        row = await (
            await conn.execute(query("inbound_watermark"), {"object_name": section.object_name})
        ).fetchone()
    mark: datetime | None = row[0] if row else None
    result = PageResult()
    async for records in pages(api, soql(section, mark)):
        changes = [change_of(section, r) for r in records]
        survivors = await _survivors(context, api, section, destination, changes)
        ctx = PageContext(section, destination, _integration_user(context, api))
        async with context.pool.connection() as conn, conn.transaction():
            page = await apply_page(conn, ctx, changes, survivors)
            newest = max(_stamp(c.system_modstamp) for c in changes)
            await conn.execute(
                query("inbound_set_watermark"),
                {"object_name": section.object_name, "watermark": newest, "read": len(changes)},
            )
        result.add(page)
    return result


def soql(section: InboundMapping, mark: datetime | None) -> str:
    fields = ", ".join(dict.fromkeys((*SYSTEM_FIELDS, *section.soql_fields())))
    where = ""
    if mark is not None:
        where = f" WHERE SystemModstamp > {(mark - OVERLAP).strftime('%Y-%m-%dT%H:%M:%SZ')}"
    return f"SELECT {fields} FROM {section.object_name}{where} ORDER BY SystemModstamp, Id"


async def pages(api: SalesforceApi, text: str) -> AsyncIterator[list[dict[str, Any]]]:
    """Each page of a ``queryAll``, as it arrives (REST API "QueryAll", "Query More Results")."""
    page = await api.call("GET", "/queryAll", params={"q": text})
    if page.get("records"):
        yield list(page["records"])
    while not page.get("done", True) and page.get("nextRecordsUrl"):
        page = await api.call(
            "GET", str(page["nextRecordsUrl"]).removeprefix(api.settings.data_path)
        )
        if page.get("records"):
            yield list(page["records"])


async def _survivors(
    context: JobContext,
    api: SalesforceApi,
    section: InboundMapping,
    destination: str,
    changes: list[Change],
) -> Mapping[str, str]:
    """The key each merge master is written under: from the page itself (a merge moves the
    master's SystemModstamp too), else the identity rows, else one query to the org."""
    masters = {c.master_record_id for c in changes if c.is_deleted and c.master_record_id}
    if not masters:
        return {}
    known = {
        c.record_id: c.storefront_key
        for c in changes
        if c.record_id in masters and c.storefront_key and not c.is_deleted
    }
    missing = sorted(masters - set(known))
    if missing:
        async with context.pool.connection() as conn:
            found = await conn.execute(
                query("inbound_survivors"),
                {"destination": destination, "object_name": section.object_name,
                 "record_ids": missing},
            )  # fmt: skip
            known.update({r[0]: r[1] for r in await found.fetchall()})
    missing = sorted(masters - set(known))
    if missing:
        ids = ", ".join(soql_literal(i) for i in missing)
        rows = await api.query(
            f"SELECT Id, {section.key_field} FROM {section.object_name} WHERE Id IN ({ids})"
        )
        known.update({r["Id"]: r[section.key_field] for r in rows if r.get(section.key_field)})
    return known


def _integration_user(context: JobContext, api: SalesforceApi) -> str | None:
    settings: Settings = context.settings
    configured = settings.job.integration_user_id
    return configured or api.auth.user_id


def _stamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00").replace("+0000", "+00:00"))
