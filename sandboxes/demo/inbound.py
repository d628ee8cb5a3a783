"""The demo's last act: people change things in the Salesforce sandbox (an unsubscribe, an
address fix, an organisation moved to a negotiated tier, two duplicate Contacts merged), the
pull_changes job brings them back, and the summary shows what reached the storefront."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

from dispatcher.maintenance import pull_changes
from dispatcher.maintenance.org import SalesforceOrg
from dispatcher.maintenance.scheduler import Job
from sandboxes.demo.boxes import Sandboxes
from sandboxes.demo.report import Verdict
from sandboxes.demo.run import run_once

_CONTACTS = """
SELECT k.storefront_key, k.salesforce_id, c.email
  FROM outbox.salesforce_ids k
  JOIN commerce.customers c ON 'c-' || c.id = k.storefront_key
 WHERE k.object_name = 'Contact' AND k.matched_by = 'external_id'
 ORDER BY c.id
"""
_ACCOUNT = """
SELECT storefront_key, salesforce_id FROM outbox.salesforce_ids
 WHERE object_name = 'Account' AND storefront_key LIKE 'org:%%' ORDER BY storefront_key
"""


@dataclass
class Changes:
    """What was changed in the org, to look for in the storefront afterwards."""

    made: list[str] = field(default_factory=list)
    unsubscribed: str | None = None
    moved: str | None = None
    organisation: str | None = None
    merged: str | None = None
    pulled: str | None = None


def make_changes(url: str, boxes: Sandboxes) -> Changes:
    changes = Changes()
    store = boxes.salesforce.store  # a reused database also knows an earlier run's org
    with psycopg.connect(url) as conn:
        found = {r[1]: r for r in conn.execute(_CONTACTS) if store.get("Contact", r[1])}
        contacts = list(found.values())[:4]  # four records: a guest may share another's
        accounts = [r for r in conn.execute(_ACCOUNT) if store.get("Account", r[1])]
    account = accounts[0] if accounts else None
    with httpx.Client(base_url=boxes.salesforce_url) as org:
        if len(contacts) >= 4:
            _edit(org, "Contact", contacts[0][1], {"HasOptedOutOfEmail": True})
            changes.unsubscribed = contacts[0][2]
            _edit(org, "Contact", contacts[1][1],
                  {"MailingStreet": "2 Infirmary Street", "MailingCity": "Leeds"})  # fmt: skip
            changes.moved = contacts[1][2]
            merged = org.post(
                "/__sandbox/merge/Contact",
                json={"master": contacts[2][1], "merged": [contacts[3][1]]},
            )
            merged.raise_for_status()
            changes.merged = contacts[3][0]
            changes.made += [
                f"{contacts[0][2]} unsubscribed",
                f"{contacts[1][2]}'s address corrected",
                f"{contacts[3][0]} merged into {contacts[2][0]}",
            ]
        if account is not None:
            tier = {"Price_Tier__c": "Gold", "Discount_Percent__c": 10, "Credit_Limit__c": 10000}
            _edit(org, "Account", account[1], tier)
            changes.organisation = account[0].removeprefix("org:")
            changes.made.append(f"{changes.organisation} moved to the Gold tier")
    return changes


def pull(url: str, boxes: Sandboxes, changes: Changes, attempts: int = 10) -> None:
    """Run pull_changes as its next ticks would, until one run finishes (faults may fail some)."""
    for _ in range(attempts):
        detail = asyncio.run(_pull_once(url, boxes))
        changes.pulled = detail
        if detail and detail.startswith("read "):
            return


def report(result: Verdict, url: str, changes: Changes) -> None:
    result.fact("changes made in Salesforce", "; ".join(changes.made) or "none")
    result.fact("changes pulled back", changes.pulled or "none")
    with psycopg.connect(url) as conn:
        found = conn.execute(
            """
            SELECT (SELECT email_opt_out FROM commerce.customers WHERE email = %(unsubscribed)s),
                   (SELECT city FROM commerce.customers WHERE email = %(moved)s),
                   (SELECT price_tier FROM commerce.organisations WHERE key = %(organisation)s),
                   (SELECT matched_by FROM outbox.salesforce_ids
                     WHERE object_name = 'Contact' AND storefront_key = %(merged)s)
            """,
            vars(changes),
        ).fetchone()
    expected = (
        True if changes.unsubscribed else None,
        "Leeds" if changes.moved else None,
        "Gold" if changes.organisation else None,
        "merge" if changes.merged else None,
    )
    result.check(
        "Salesforce changes reached the storefront",
        found is not None and tuple(found) == expected,
        "unsubscribe, address, tier and merge applied"
        if found is not None and tuple(found) == expected
        else f"found {found}, expected {expected}",
    )


def _edit(org: httpx.Client, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
    org.patch(f"/__sandbox/records/{sobject}/{record_id}", json=fields).raise_for_status()


async def _pull_once(url: str, boxes: Sandboxes) -> str | None:
    org = SalesforceOrg({"instance_url": boxes.salesforce_url}, sandbox=True)
    job = Job("pull_changes", 60.0, pull_changes.run, pull_changes.Settings(org))
    return await run_once(url, job)
