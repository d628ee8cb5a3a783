"""Changes from Salesforce: how fast a backlog of changed Contacts and Accounts reaches the
storefront, and what it costs in API calls.

The Salesforce sandbox, served on loopback, holds ``--changes`` records changed by a person
(nine Contacts of storefront customers to one business Account); the pull_changes job reads
them with ``queryAll`` in pages of 2,000, records each in the inbox and applies them. Prints
the changes applied per second, the API calls the pull cost (target: at most one per 2,000
changes, the page size), and a second run over the same org, which must read the overlap and
apply nothing.

    python -m bench.inbound [--changes 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import structlog
from psycopg_pool import AsyncConnectionPool

from bench.harness import figure, machine, scratch_database
from dispatcher.maintenance import pull_changes
from dispatcher.maintenance.org import SalesforceOrg
from dispatcher.maintenance.scheduler import Job, JobContext, run_job
from sandboxes.salesforce import SandboxSettings, SandboxState, create_app
from sandboxes.salesforce.validation import SF_DATETIME
from sandboxes.serve import running_app

SECRET_ENV = "BENCH_SALESFORCE_SECRET"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

_CUSTOMERS = """
INSERT INTO commerce.customers (id, email, first_name, last_name)
OVERRIDING SYSTEM VALUE
SELECT g, 'b' || g || '@example.org', 'Ada', 'Buyer ' || g FROM generate_series(1, %s::int) g
"""


def _plant(state: SandboxState, contacts: int, accounts: int) -> None:
    """Records a person changed, stamped a few per second as a busy org's would be."""
    store, person = state.store, state.settings.admin_user_id
    for n in range(contacts + accounts):
        stamp = (START + timedelta(seconds=n // 4)).strftime(SF_DATETIME)
        audit = {"CreatedDate": stamp, "LastModifiedDate": stamp, "SystemModstamp": stamp,
                 "LastModifiedById": person, "IsDeleted": False}  # fmt: skip
        if n < contacts:
            record = {"Id": store.new_id("003"), "LastName": f"Buyer {n + 1}", "FirstName": "Ada",
                      "Email": f"b{n + 1}@example.org", "Storefront_Customer_Id__c": f"c-{n + 1}",
                      "Phone": f"555 {n:07d}", "HasOptedOutOfEmail": n % 3 == 0,
                      "MailingCity": "Leeds", **audit}  # fmt: skip
            store.insert("Contact", record)
        else:
            record = {"Id": store.new_id("001"), "Name": f"Org {n}", "Price_Tier__c": "Gold",
                      "Storefront_Account_Id__c": f"org:org {n}", "Credit_Limit__c": 5000.0,
                      "Discount_Percent__c": 10.0, **audit}  # fmt: skip
            store.insert("Account", record)


async def _pull(url: str, org_url: str) -> tuple[str, float]:
    options = {
        "instance_url": org_url,
        "auth": {"client_id": "sandbox-consumer-key", "client_secret_env": SECRET_ENV},
    }
    settings = pull_changes.Settings(SalesforceOrg(options))
    job = Job("pull_changes", 60.0, pull_changes.run, settings, hold_seconds=3600)
    async with (
        httpx.AsyncClient() as client,
        AsyncConnectionPool(url, min_size=1, max_size=2, open=False,
                            kwargs={"autocommit": True}) as pool,
    ):  # fmt: skip
        context = JobContext(pool, "bench", structlog.get_logger("bench"), client=client)
        started = time.perf_counter()
        _, detail = await run_job(job, context, force=True)
        return detail or "", time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=100_000)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    os.environ.setdefault(SECRET_ENV, "sandbox-consumer-secret")
    accounts = args.changes // 10
    contacts = args.changes - accounts
    print(f"# pull_changes · {machine()}")
    with scratch_database() as url:
        with psycopg.connect(url) as conn:
            conn.execute(_CUSTOMERS, (contacts,))
        app = create_app(SandboxSettings(seed_catalog=False, query_batch_size=2000))
        state: SandboxState = app.state.sandbox
        _plant(state, contacts, accounts)
        with running_app(app) as org_url:
            detail, seconds = asyncio.run(_pull(url, org_url))
            calls = state.calls["queryAll"] + state.calls["query.more"]
            again, second = asyncio.run(_pull(url, org_url))
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE status = 'applied'), count(*) "
                "FROM outbox.inbound_changes"
            ).fetchone()
        assert row is not None
        applied, recorded = row
    print(f"first run:  {detail}")
    print(f"second run: {again}")
    figure("changes in the backlog", args.changes, "changes")
    figure("changes recorded in the inbox", recorded, "changes")
    figure("changes applied per second", applied / seconds, "changes/s", f"{seconds:.1f} s")
    figure("Salesforce API calls (query pages)", calls, "calls")
    figure("changes per API call", args.changes / max(calls, 1), "changes", "target >= 2,000")
    figure("second run over the same org", second, "s", "reads the overlap, applies nothing")


if __name__ == "__main__":
    main()
