"""Guests found by e-mail, the org's describe against the mapping, and the options checked."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest

from dispatcher.core.destination import Result
from dispatcher.core.errors import ConfigError
from dispatcher.destinations.salesforce import check_org_drift, fetch_describes, load_settings
from dispatcher.mapping import load
from dispatcher.mapping.drift import DriftKind
from outbox.resources import resource_dir
from sandboxes.salesforce import FaultKind
from tests.conformance.salesforce_org import SECRET_ENV, Org, place, salesforce_config


def _contact(org: Org, email: str, key: str | None) -> str:
    body: dict[str, Any] = {"LastName": "Byron", "Email": email}
    if key:
        body["Storefront_Customer_Id__c"] = key
    spec = org.sandbox.schema.get("Contact")
    assert spec is not None
    from sandboxes.salesforce.writes import create

    return create(org.sandbox, spec, body).id


async def test_salesforce_guest_attaches_to_contact_with_that_email(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    existing = _contact(org, "ada@example.org", "crm-7")
    place(shop, "SO-1", email="ada@example.org", guest=True)
    assert [o.result for o in await org.deliver_due()] == [Result.DELIVERED]
    assert [c["Id"] for c in org.records("Contact")] == [existing]
    (order,) = org.records("Order")
    assert order["BillToContactId"] == existing
    row = shop.execute(
        "SELECT upsert_key, matched_by FROM outbox.salesforce_ids WHERE object_name = 'Contact'"
    ).fetchone()
    assert row == ("crm-7", "email")


async def test_salesforce_guest_claims_a_contact_without_key(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    existing = _contact(org, "ada@example.org", None)
    place(shop, "SO-2", email="ada@example.org", guest=True)
    assert [o.result for o in await org.deliver_due()] == [Result.DELIVERED]
    (contact,) = org.records("Contact")
    assert contact["Id"] == existing
    assert contact["Storefront_Customer_Id__c"].startswith("c-")


async def test_salesforce_guest_matching_two_contacts_is_kept_for_review(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    first, second = (
        _contact(org, "ada@example.org", "crm-1"),
        _contact(org, "ada@example.org", "crm-2"),
    )
    place(shop, "SO-3", email="ada@example.org", guest=True)
    assert [o.result for o in await org.deliver_due()] == [Result.DELIVERED]
    assert len(org.records("Contact")) == 3
    row = shop.execute(
        "SELECT match_value, candidate_ids FROM outbox.identity_conflicts"
    ).fetchone()
    assert row is not None
    assert row[0] == "ada@example.org"
    assert sorted(row[1]) == sorted([first, second])


async def test_salesforce_drift_check_reads_the_org_describe(
    org: Org, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = salesforce_config().options
    mapping = load(resource_dir("mappings")).destinations["salesforce"]
    assert await check_org_drift(http, options, mapping) == ()
    org.sandbox.faults.rename_field("Order", "Order_Total__c", "Order_Amount__c")
    findings = await check_org_drift(http, options, mapping)
    assert [(f.object_name, f.field, f.kind) for f in findings] == [
        ("Order", "Order_Total__c", DriftKind.MISSING_FIELD)
    ]
    describes = await fetch_describes(http, options, ["Contact", "No_Such__c"])
    assert list(describes) == ["Contact"]
    org.sandbox.faults.inject(FaultKind.SERVER_UNAVAILABLE)
    with pytest.raises(Exception, match="SERVER_UNAVAILABLE"):
        await fetch_describes(http, options, ["Contact"])


def test_salesforce_settings_name_every_problem_and_its_fix() -> None:
    options = {"instance_url": "https://acme.my.salesforce.com",
               "auth": {"client_secret_env": SECRET_ENV}, "budget_share": 2}  # fmt: skip
    with pytest.raises(ConfigError) as raised:
        load_settings("sf", options, environ={})
    assert [i.key for i in raised.value.issues] == ["destinations.sf.options.budget_share"]
    del options["budget_share"]
    with pytest.raises(ConfigError) as missing:
        load_settings("sf", options, environ={})
    (issue,) = missing.value.issues
    assert issue.key == "destinations.sf.options.auth.client_secret_env"
    assert f"export {SECRET_ENV}" in issue.fix
    jwt = {"instance_url": "https://acme.my.salesforce.com",
           "auth": {"flow": "jwt", "client_id": "k", "username": "u@x"}}  # fmt: skip
    with pytest.raises(ConfigError, match="private_key_file"):
        load_settings("sf", jwt, environ={})
    with pytest.raises(ConfigError, match="sandbox: true"):
        load_settings("sf", {}, environ={})
    sandbox = load_settings("sf", {}, environ={}, sandbox=True)
    assert (sandbox.instance_url, sandbox.api_version) == ("http://127.0.0.1:8701", "62.0")


async def test_salesforce_jwt_bearer_flow_signs_in(
    shop: psycopg.Connection[Any], pool: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from sandboxes.salesforce import SandboxSettings
    from tests.conformance.salesforce_org import org_with

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()  # fmt: skip
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    monkeypatch.setenv("TEST_SALESFORCE_KEY", private)
    auth = {
        "flow": "jwt",
        "client_id": "sandbox-consumer-key",
        "username": "integration@sandbox.invalid",
        "private_key_env": "TEST_SALESFORCE_KEY",
    }
    async with org_with(pool, SandboxSettings(jwt_public_key=public), auth=auth) as org:
        place(shop, "SO-9")
        assert [o.result for o in await org.deliver_due()] == [Result.DELIVERED]
