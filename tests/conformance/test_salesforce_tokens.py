"""One token per Salesforce destination per process, shared by deliveries and scheduled jobs,
renewed only when Salesforce refuses it (401 INVALID_SESSION_ID, API-NOTES §1.1 and §1.7).
Token requests are counted where they arrive: at the sandbox's ``/services/oauth2/token``."""

from __future__ import annotations

from typing import Any

import httpx
import structlog
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette

from dispatcher.destinations.context import DestinationContext
from dispatcher.destinations.salesforce.auth import SalesforceSessions
from dispatcher.destinations.salesforce.build import build
from dispatcher.maintenance import check_drift, pull_catalog
from dispatcher.maintenance.org import SalesforceOrg
from dispatcher.maintenance.scheduler import Job, JobContext, run_job
from dispatcher.mapping.reload import MappingSet
from outbox.resources import resource_dir
from tests.conformance.salesforce_org import Org, place, salesforce_config


def _token_requests(sandbox: Starlette) -> int:
    return int(sandbox.state.sandbox.calls["oauth2.token"])


async def test_salesforce_token_is_shared_by_deliveries_and_jobs_and_renewed_when_refused(
    shop: Any, sandbox: Starlette, pool: AsyncConnectionPool[Any], http: httpx.AsyncClient
) -> None:
    sessions = SalesforceSessions()
    config = salesforce_config()
    context = DestinationContext(
        "salesforce", config, http, pool, MappingSet(resource_dir("mappings")), sessions
    )
    org = Org(sandbox, build(context), pool)
    salesforce = SalesforceOrg(dict(config.options), name="salesforce")
    jobs = [
        Job("pull_catalog", 5.0, pull_catalog.run, pull_catalog.Settings(salesforce)),
        Job("check_drift", 5.0, check_drift.run, check_drift.Settings(salesforce)),
    ]
    job_context = JobContext(
        pool, "w", structlog.get_logger("test"), client=http, sessions=sessions,
        mappings=context.mappings,
    )  # fmt: skip
    for number in range(3):  # three ticks of each job, a delivery between them
        for job in jobs:
            ran, detail = await run_job(job, job_context, force=True)
            assert ran, detail
        place(shop, f"SO-T{number}")
        outcomes = await org.deliver_due()
        assert {o.result.value for o in outcomes} == {"delivered"}
    assert _token_requests(sandbox) == 1
    assert sessions.tokens_fetched == 1
    await http.post("/__sandbox/tokens/revoke")  # the session ends at Salesforce
    ran, _ = await run_job(jobs[0], job_context, force=True)
    place(shop, "SO-T9")
    outcomes = await org.deliver_due()
    assert ran
    assert {o.result.value for o in outcomes} == {"delivered"}
    assert _token_requests(sandbox) == 2
