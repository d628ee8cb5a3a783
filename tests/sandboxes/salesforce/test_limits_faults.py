"""Limits, the Sforce-Limit-Info header, injected faults and the inspection endpoints."""

from __future__ import annotations

import httpx
import pytest

from sandboxes.salesforce import FaultKind, SandboxSettings, SandboxState
from sandboxes.salesforce.faults import ConnectionDropped
from tests.sandboxes.salesforce.conftest import V, signed_in


async def test_limits_counts_itself_and_matches_header(client: httpx.AsyncClient) -> None:
    """Shape of sf_limits_response.json: every limit is ``{Max, Remaining}`` of ints."""
    response = await client.get(f"{V}/limits")
    body = response.json()
    assert response.headers["Sforce-Limit-Info"] == "api-usage=1/15000"
    assert body["DailyApiRequests"] == {"Max": 15000, "Remaining": 14999}
    assert all(set(v) == {"Max", "Remaining"} for v in body.values())


async def test_daily_allocation_exhausted_is_403() -> None:
    async with signed_in(SandboxSettings(daily_api_limit=2)) as client:
        statuses = [(await client.get(f"{V}/limits")).status_code for _ in range(3)]
        refused = await client.get(f"{V}/limits")
    assert statuses == [200, 200, 403]
    assert refused.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=2/2"


@pytest.mark.parametrize(
    ("kind", "status", "code", "message"),
    [
        (FaultKind.SERVER_UNAVAILABLE, 503, "SERVER_UNAVAILABLE", None),
        (FaultKind.UNABLE_TO_LOCK_ROW, 400, "UNABLE_TO_LOCK_ROW", None),
        (
            FaultKind.CONCURRENT_LIMIT,
            403,
            "REQUEST_LIMIT_EXCEEDED",
            "ConcurrentPerOrgLongTxn Limit exceeded.",
        ),
        (FaultKind.DAILY_LIMIT, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    ],
)
async def test_fault_refuses_next_request_only(
    client: httpx.AsyncClient,
    state: SandboxState,
    kind: FaultKind,
    status: int,
    code: str,
    message: str | None,
) -> None:
    state.faults.inject(kind, remaining=1)
    refused = await client.get(f"{V}/limits")
    assert refused.status_code == status
    assert refused.json()[0]["errorCode"] == code
    assert message is None or refused.json()[0]["message"] == message
    assert (await client.get(f"{V}/limits")).status_code == 200


async def test_fault_dropped_connection_is_transport_error(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults.inject(FaultKind.DROP_CONNECTION, remaining=1)
    with pytest.raises(httpx.TransportError):
        await client.get(f"{V}/limits")
    assert issubclass(ConnectionDropped, httpx.TransportError)


async def test_fault_maintenance_page_is_html_on_the_token_endpoint(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    """forcedotcom/EMP-Connector#84: the login endpoint served its HTML maintenance page."""
    state.faults.inject(FaultKind.MAINTENANCE_PAGE, remaining=1, status=500, path="/oauth2/")
    refused = await client.post("/services/oauth2/token", data={"grant_type": "x"})
    assert refused.status_code == 500
    assert refused.headers["content-type"].startswith("text/html")
    assert "We are down for maintenance." in refused.text
    assert (await client.get(f"{V}/limits")).status_code == 200


async def test_fault_probability_zero_never_fires(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults.inject(FaultKind.SERVER_UNAVAILABLE, probability=0.0)
    assert (await client.get(f"{V}/limits")).status_code == 200


async def test_fault_admin_endpoint_outage_and_clear(client: httpx.AsyncClient) -> None:
    assert (await client.post("/__sandbox/faults", json={"outage": True})).status_code == 200
    assert (await client.get(f"{V}/limits")).status_code == 503
    assert (await client.post("/services/oauth2/token")).status_code == 503
    assert (await client.delete("/__sandbox/faults")).json()["outage"] is False
    assert (await client.get(f"{V}/limits")).status_code == 200


async def test_fault_admin_latency_rule_listed(client: httpx.AsyncClient) -> None:
    rule = {"kind": "latency", "latency_ms": 5, "count": 2, "path": "/limits"}
    listed = (await client.post("/__sandbox/faults", json=rule)).json()
    assert listed["rules"][0]["kind"] == "latency"
    assert (await client.get(f"{V}/limits")).status_code == 200
    assert (await client.post("/__sandbox/faults", json={"kind": "nonsense"})).status_code == 400


async def test_fault_renamed_field_changes_describe_and_writes(client: httpx.AsyncClient) -> None:
    change = {"rename_field": {"sobject": "Contact", "field": "Email", "new_name": "Email__c"}}
    assert (await client.post("/__sandbox/faults", json=change)).status_code == 200
    names = {
        f["name"] for f in (await client.get(f"{V}/sobjects/Contact/describe")).json()["fields"]
    }
    assert "Email__c" in names
    assert "Email" not in names
    old = await client.post(f"{V}/sobjects/Contact", json={"LastName": "L", "Email": "a@b.org"})
    assert old.json()[0]["errorCode"] == "INVALID_FIELD"
    new = await client.post(f"{V}/sobjects/Contact", json={"LastName": "L", "Email__c": "a@b.org"})
    assert new.status_code == 201


async def test_fault_removed_picklist_value_refused(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults.remove_picklist_value("Contact", "Preferred_Language__c", "German")
    body = {"LastName": "L", "Preferred_Language__c": "German"}
    response = await client.post(f"{V}/sobjects/Contact", json=body)
    assert response.json()[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert response.json()[0]["message"] == (
        "Preferred Language: bad value for restricted picklist field: German"
    )


async def test_inspection_counts_creates_and_updates(client: httpx.AsyncClient) -> None:
    url = f"{V}/sobjects/Order/Storefront_Order_Number__c/SO-1"
    account = await client.post(f"{V}/sobjects/Account", json={"Name": "A"})
    body = {"AccountId": account.json()["id"], "EffectiveDate": "2026-11-25", "Status": "Draft"}
    for _ in range(2):
        await client.patch(url, json=body)
    records = (await client.get("/__sandbox/records/Order")).json()
    assert records["totalSize"] == 1
    assert records["writes"] == {"SO-1": {"created": 1, "updated": 1}}
    stats = (await client.get("/__sandbox/stats")).json()
    assert stats["calls"]["sobjects.upsert"] == 2
    assert stats["records"]["Order"] == 1
