"""Mapping drift: compare the org's describe with the mapping, so a relabelled field or a removed
picklist value is seen within minutes, before records start failing."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from dispatcher.destinations.salesforce import check_org_drift
from dispatcher.maintenance.scheduler import JobContext
from dispatcher.mapping.drift import DriftFinding
from dispatcher.mapping.reload import MappingSet
from outbox.queries import query
from outbox.resources import resource_dir


async def run(context: JobContext) -> str:
    if context.client is None:
        raise RuntimeError("the drift check needs an HTTP client")
    folder = context.settings.get("mappings_dir") or resource_dir("mappings")
    mapping = MappingSet(folder).current.destinations["salesforce"]
    options = context.settings.get("salesforce_options") or {}
    sandbox = bool(context.settings.get("salesforce_sandbox", False))
    name = str(context.settings.get("salesforce_destination", "salesforce"))
    findings = await check_org_drift(
        context.client, options, mapping, name=name, sandbox=sandbox, sessions=context.sessions
    )
    await record(context, mapping.version, findings)
    for finding in findings:
        # A line an alert can match: "mapping drift".
        context.log.warning(
            "mapping drift",
            object=finding.object_name,
            field=finding.field,
            kind=str(finding.kind),
            detail=finding.detail,
            mapping_version=mapping.version,
        )
    return f"{len(findings)} drift finding(s) against mapping {mapping.version}"


async def record(context: JobContext, version: str, findings: tuple[DriftFinding, ...]) -> None:
    rows = [
        {
            "object_name": f.object_name,
            "field": f.field,
            "kind": str(f.kind),
            "detail": f.detail,
            "blocks": list(f.blocks),
        }
        for f in findings
    ] or [
        {"object_name": "*", "field": "*", "kind": "clean", "detail": "the org matches the mapping"}
    ]
    async with context.pool.connection() as conn:
        await conn.execute(
            query("record_drift"),
            {
                "destination": "salesforce",
                "version": version,
                "findings": Jsonb(rows),
            },
        )
