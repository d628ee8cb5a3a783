"""sObject Collections (API-NOTES §1.3): order, limits, allOrNone, per-record errors."""

from __future__ import annotations

from typing import Any

import httpx

from sandboxes.salesforce import FaultKind, SandboxState
from tests.sandboxes.salesforce.conftest import V

# sf_collections_upsert_response.json: one UpsertResult.
UPSERT_RESULT_KEYS = {"id", "success", "errors", "created"}
# sf_collections_create_response.json: one SaveResult.
SAVE_RESULT_KEYS = {"id", "success", "errors"}
# sf_collections_allornone_rollback.json: the rolled-back marker.
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was "
    "using AllOrNone header",
    "fields": [],
}
URL = f"{V}/composite/sobjects/Account/Storefront_Account_Id__c"


def accounts(*exts: str, **fields: Any) -> list[dict[str, Any]]:
    return [
        {
            "attributes": {"type": "Account"},
            "Name": f"N{e}",
            "Storefront_Account_Id__c": e,
            **fields,
        }
        for e in exts
    ]


async def test_collections_upsert_results_in_order(client: httpx.AsyncClient) -> None:
    await client.patch(URL, json={"records": accounts("a-2")})
    response = await client.patch(URL, json={"allOrNone": False, "records": accounts("a-1", "a-2")})
    results = response.json()
    assert response.status_code == 200
    assert [set(r) for r in results] == [UPSERT_RESULT_KEYS] * 2
    assert [r["created"] for r in results] == [True, False]
    assert "api-usage=" in response.headers["Sforce-Limit-Info"]


async def test_collections_more_than_200_records_refused(client: httpx.AsyncClient) -> None:
    response = await client.patch(URL, json={"records": accounts(*map(str, range(201)))})
    assert response.status_code == 400
    assert response.json() == [
        {
            "message": "record limit reached. cannot submit more than 200 records into this call",
            "errorCode": "EXCEEDED_ID_LIMIT",
        }
    ]


async def test_collections_partial_success_without_all_or_none(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    records = [
        *accounts("ok-1"),
        {"attributes": {"type": "Account"}, "Storefront_Account_Id__c": "bad"},
    ]
    results = (await client.patch(URL, json={"records": records})).json()
    assert results[0]["success"] is True
    assert results[1]["success"] is False
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert results[1]["errors"][0]["fields"] == ["Name"]
    assert len(state.store.live["Account"]) == 1


async def test_collections_all_or_none_rolls_back(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    records = [
        *accounts("r-1"),
        {"attributes": {"type": "Account"}, "Storefront_Account_Id__c": "r-2"},
    ]
    results = (await client.patch(URL, json={"allOrNone": True, "records": records})).json()
    assert results[0]["errors"] == [ROLLED_BACK]
    assert results[0]["success"] is False
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert len(state.store.live["Account"]) == 0
    assert state.stats()["writes"] == {}


async def test_collections_record_type_must_match_url(client: httpx.AsyncClient) -> None:
    records = [
        {"attributes": {"type": "Contact"}, "LastName": "L", "Storefront_Account_Id__c": "x"}
    ]
    response = await client.patch(URL, json={"records": records})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_TYPE"


async def test_collections_per_record_lock_fault(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults.inject(FaultKind.UNABLE_TO_LOCK_ROW, per_record=True, remaining=1)
    results = (await client.patch(URL, json={"records": accounts("l-1", "l-2")})).json()
    assert results[0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    assert results[1]["success"] is True


async def test_collections_create_mixed_types_and_retrieve(client: httpx.AsyncClient) -> None:
    records = [
        {"attributes": {"type": "Account"}, "Name": "Clinic"},
        {"attributes": {"type": "Contact"}, "LastName": "Nurse"},
    ]
    results = (await client.post(f"{V}/composite/sobjects", json={"records": records})).json()
    assert [set(r) for r in results] == [SAVE_RESULT_KEYS] * 2
    assert [r["id"][:3] for r in results] == ["001", "003"]
    ids = results[0]["id"]
    fetched = (await client.get(f"{V}/composite/sobjects/Account?ids={ids}&fields=Name")).json()
    assert fetched == [
        {"attributes": {"type": "Account", "url": f"{V}/sobjects/Account/{ids}"}, "Name": "Clinic"}
    ]


async def test_collections_missing_type_is_invalid_type(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{V}/composite/sobjects", json={"records": [{"Name": "x"}]})
    assert response.json() == [
        {"message": "Must send a concrete entity type.", "errorCode": "INVALID_TYPE"}
    ]
