"""Mapping drift: compare the org's describe with the mapping, so a relabelled field or a removed
picklist value is seen within minutes, before records start failing."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg.types.json import Jsonb

from dispatcher.maintenance.org import SalesforceOrg
from dispatcher.maintenance.scheduler import JobContext
from dispatcher.mapping.drift import DriftFinding, check_drift
from outbox.queries import query


@dataclass(frozen=True, slots=True)
class Settings:
    """The org whose describe the mapping in use is compared with."""

    org: SalesforceOrg


async def run(context: JobContext) -> str:
    settings: Settings = context.settings
    if context.mappings is None:
        raise RuntimeError("the drift check needs the mappings in use")
    mapping = context.mappings.current.destinations["salesforce"]
    api = settings.org.api(context, "the drift check")
    findings = await check_drift(mapping, api.describe)
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
