"""What a reader of changes sees: audit stamps, ``queryAll`` over a ``SystemModstamp``
watermark with deleted rows, and merges made "as a Salesforce user" through the admin endpoints.

Rules: Object Reference "System Fields" (SystemModstamp, LastModifiedById); REST API Developer
Guide "QueryAll" (deleted rows carry ``IsDeleted = true``); SOAP API ``merge()`` (one master, at
most two merged records, losers deleted with ``MasterRecordId``, related records reparented).
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import httpx

from sandboxes.salesforce import SandboxSettings, SandboxState
from tests.sandboxes.salesforce.conftest import Clock, V, signed_in

SINCE = "2026-11-25T10:30:00Z"
CHANGED = (
    "SELECT Id, LastName, Phone, IsDeleted, MasterRecordId, LastModifiedById, SystemModstamp "
    f"FROM Contact WHERE SystemModstamp > {SINCE} ORDER BY SystemModstamp, Id"
)


async def contact(client: httpx.AsyncClient, key: str, **fields: object) -> str:
    body = {"LastName": key.upper(), **fields}
    response = await client.patch(
        f"{V}/sobjects/Contact/Storefront_Customer_Id__c/{key}", json=body
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def rows(client: httpx.AsyncClient, text: str, resource: str) -> list[dict[str, object]]:
    body = (await client.get(f"{V}/{resource}?q={quote(text)}")).json()
    assert body["done"], body
    return list(body["records"])


async def test_change_stamps_name_the_user_api_writes_integration_admin_edits_person(
    client: httpx.AsyncClient, state: SandboxState, clock: Clock
) -> None:
    record_id = await contact(client, "c-1")
    clock.now += timedelta(hours=1)
    edited = await client.patch(f"/__sandbox/records/Contact/{record_id}", json={"Phone": "555"})
    assert edited.status_code == 200, edited.text
    (row,) = await rows(client, CHANGED, "query")
    assert (row["Phone"], row["LastModifiedById"]) == ("555", state.settings.admin_user_id)
    assert row["SystemModstamp"] == "2026-11-25T11:00:00.000+0000"
    await client.patch(f"{V}/sobjects/Contact/{record_id}", json={"Phone": "556"})
    (row,) = await rows(client, CHANGED, "query")
    assert row["LastModifiedById"] == state.settings.user_id


async def test_admin_edit_is_validated_like_any_write(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    record_id = await contact(client, "c-1")
    refused = await client.patch(
        f"/__sandbox/records/Contact/{record_id}", json={"Preferred_Channel__c": "Pigeon"}
    )
    assert refused.status_code == 400
    assert refused.json()[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


async def test_query_all_returns_a_deletion_after_the_watermark_query_does_not(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    record_id = await contact(client, "c-1")
    clock.now += timedelta(hours=1)
    assert (await client.delete(f"/__sandbox/records/Contact/{record_id}")).status_code == 204
    assert await rows(client, CHANGED, "query") == []
    (row,) = await rows(client, CHANGED, "queryAll")
    assert (row["Id"], row["IsDeleted"], row["MasterRecordId"]) == (record_id, True, None)
    assert row["SystemModstamp"] == "2026-11-25T11:00:00.000+0000"


async def test_merge_deletes_the_loser_with_master_record_id_and_reparents_children(
    client: httpx.AsyncClient, state: SandboxState, clock: Clock
) -> None:
    loser_account = (
        await client.patch(f"{V}/sobjects/Account/Storefront_Account_Id__c/c-2", json={"Name": "B"})
    ).json()["id"]
    master = await contact(client, "c-1")
    loser = await contact(client, "c-2", AccountId=loser_account)
    clock.now += timedelta(hours=1)
    merged = await client.post(
        "/__sandbox/merge/Contact", json={"master": master, "merged": [loser]}
    )
    assert merged.status_code == 200, merged.text
    changed = await rows(client, CHANGED, "queryAll")
    by_id = {r["Id"]: r for r in changed}
    assert by_id[loser]["IsDeleted"] is True
    assert by_id[loser]["MasterRecordId"] == master
    assert by_id[master]["IsDeleted"] is False
    assert {r["LastModifiedById"] for r in changed} == {state.settings.admin_user_id}
    assert [r["Id"] for r in await rows(client, CHANGED, "query")] == [master]
    # The merged Contact's external ID went with it: an upsert under it makes a new Contact.
    again = await client.patch(
        f"{V}/sobjects/Contact/Storefront_Customer_Id__c/c-2", json={"LastName": "B"}
    )
    assert again.status_code == 201


async def test_merge_reparents_contacts_of_a_merged_account(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    ids = []
    for key in ("org:a", "org:b"):
        response = await client.patch(
            f"{V}/sobjects/Account/Storefront_Account_Id__c/{key}", json={"Name": key}
        )
        ids.append(response.json()["id"])
    person = await contact(client, "c-1", AccountId=ids[1])
    merged = await client.post(
        "/__sandbox/merge/Account", json={"master": ids[0], "merged": [ids[1]]}
    )
    assert merged.status_code == 200
    body = (await client.get(f"{V}/sobjects/Contact/{person}?fields=AccountId")).json()
    assert body["AccountId"] == ids[0]


async def test_merge_refuses_what_the_platform_refuses_and_changes_nothing(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    ids = [await contact(client, f"c-{n}") for n in range(4)]
    too_many = await client.post(
        "/__sandbox/merge/Contact", json={"master": ids[0], "merged": ids[1:]}
    )
    assert (too_many.status_code, too_many.json()[0]["errorCode"]) == (400, "INVALID_OPERATION")
    product = "01tDm0000000001IAA"
    wrong_type = await client.post(
        "/__sandbox/merge/Product2", json={"master": product, "merged": [product]}
    )
    assert (wrong_type.status_code, wrong_type.json()[0]["errorCode"]) == (400, "INVALID_TYPE")
    itself = await client.post(
        "/__sandbox/merge/Contact", json={"master": ids[0], "merged": [ids[0]]}
    )
    assert itself.status_code == 400
    assert len(state.store.live["Contact"]) == 4
    assert not state.store.deleted["Contact"]
    await client.post("/__sandbox/merge/Contact", json={"master": ids[0], "merged": [ids[1]]})
    gone = await client.post(
        "/__sandbox/merge/Contact", json={"master": ids[0], "merged": [ids[1]]}
    )
    assert (gone.status_code, gone.json()[0]["errorCode"]) == (404, "ENTITY_IS_DELETED")


async def test_query_all_pages_a_backlog_through_next_records_url() -> None:
    """Batches of up to 2,000 rows (REST API "Query", ``Sforce-Query-Options``)."""
    async with signed_in(SandboxSettings(query_batch_size=2000, seed_catalog=False)) as client:
        for n in range(4100):
            state_body = {"LastName": f"L{n}"}
            await client.patch(
                f"{V}/sobjects/Contact/Storefront_Customer_Id__c/c-{n}", json=state_body
            )
        text = "SELECT Id FROM Contact WHERE SystemModstamp > 2000-01-01T00:00:00Z"
        page = (await client.get(f"{V}/queryAll?q={quote(text)}")).json()
        sizes = [len(page["records"])]
        while not page["done"]:
            page = (await client.get(page["nextRecordsUrl"])).json()
            sizes.append(len(page["records"]))
        assert sizes == [2000, 2000, 100]
