"""Rules the sandbox takes from the declared schema and API-NOTES §1.9: field access, nillable,
defaults on create, and the Order whose Status reached the Activated category."""

from __future__ import annotations

from typing import Any

import httpx

from sandboxes.salesforce import load_seed
from tests.sandboxes.salesforce.conftest import V

CREATE = f"{V}/composite/sobjects"


async def _create(client: httpx.AsyncClient, *records: dict[str, Any]) -> list[dict[str, Any]]:
    response = await client.post(CREATE, json={"allOrNone": False, "records": list(records)})
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()
    return results


async def _order(client: httpx.AsyncClient, number: str, **fields: Any) -> list[dict[str, Any]]:
    seed = load_seed()
    product = seed.products[0]
    return await _create(
        client,
        {"attributes": {"type": "Account"}, "Name": "Ada", "Storefront_Account_Id__c": number},
        {
            "attributes": {"type": "Order"},
            "Account": {"Storefront_Account_Id__c": number},
            "Pricebook2Id": seed.pricebook_id,
            "EffectiveDate": "2026-11-25",
            "Storefront_Order_Number__c": number,
            **fields,
        },
        {
            "attributes": {"type": "OrderItem"},
            "Order": {"Storefront_Order_Number__c": number},
            "PricebookEntryId": product.pricebook_entry_id,
            "Quantity": 1,
            "UnitPrice": 10,
            "Storefront_Line_Id__c": f"{number}-1",
        },
    )


def _errors(result: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(e["statusCode"], e["fields"]) for e in result["errors"]]


async def _patch(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> httpx.Response:
    return await client.patch(f"{V}/sobjects/{path}", json=body)


async def test_orders_create_without_status_gets_the_default_draft(
    client: httpx.AsyncClient,
) -> None:
    results = await _order(client, "SO-1")
    assert [r["success"] for r in results] == [True, True, True]
    order = (await client.get(f"{V}/sobjects/Order/{results[1]['id']}")).json()
    assert order["Status"] == "Draft"


async def test_orders_create_with_activated_category_status_is_refused(
    client: httpx.AsyncClient,
) -> None:
    results = await _order(client, "SO-2", Status="Paid")
    assert _errors(results[1]) == [("FIELD_INTEGRITY_EXCEPTION", ["Status"])]


async def test_orders_activated_order_locks_account_and_products(
    client: httpx.AsyncClient,
) -> None:
    results = await _order(client, "SO-3")
    order_id, line_id = results[1]["id"], results[2]["id"]
    activated = await _patch(client, f"Order/{order_id}", {"Status": "Paid"})
    assert activated.status_code == 204
    other = {"attributes": {"type": "Account"}, "Name": "B", "Storefront_Account_Id__c": "b"}
    await _create(client, other)
    move = {"Account": {"Storefront_Account_Id__c": "b"}}
    moved = await _patch(client, f"Order/{order_id}", move)
    assert moved.status_code == 400
    assert moved.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert moved.json()[0]["fields"] == ["AccountId"]
    # The same account again is no change; other header fields stay editable.
    own = {"Account": {"Storefront_Account_Id__c": "SO-3"}, "Status": "Refunded"}
    same = await _patch(client, f"Order/{order_id}", own)
    assert same.status_code == 204
    edited = await _patch(client, f"OrderItem/{line_id}", {"Quantity": 2})
    assert edited.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    removed = await client.delete(f"{V}/sobjects/OrderItem/{line_id}")
    assert removed.status_code == 400
    seed = load_seed()
    added = await _create(
        client,
        {
            "attributes": {"type": "OrderItem"}, "OrderId": order_id,
            "PricebookEntryId": seed.products[0].pricebook_entry_id, "Quantity": 1,
            "UnitPrice": 10, "Storefront_Line_Id__c": "SO-3-2",
        },
    )  # fmt: skip
    assert _errors(added[0]) == [("FIELD_INTEGRITY_EXCEPTION", [])]


async def test_orders_line_fields_set_at_create_are_not_updateable(
    client: httpx.AsyncClient,
) -> None:
    """Object Reference, OrderItem: OrderId, PricebookEntryId and Product2Id have no Update."""
    results = await _order(client, "SO-4")
    line_id = results[2]["id"]
    seed = load_seed()
    for body in (
        {"Product2Id": seed.products[0].product2_id},
        {"PricebookEntryId": seed.products[0].pricebook_entry_id},
        {"OrderId": results[1]["id"]},
    ):
        refused = await _patch(client, f"OrderItem/{line_id}", body)
        assert refused.status_code == 400
        assert refused.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
        assert refused.json()[0]["fields"] == list(body)


async def test_orders_not_nillable_field_cannot_be_blanked(client: httpx.AsyncClient) -> None:
    results = await _order(client, "SO-5")
    blanked = await _patch(client, f"Order/{results[1]['id']}", {"Status": None})
    assert blanked.status_code == 400
    assert blanked.json()[0] == {
        "message": "Required fields are missing: [Status]",
        "errorCode": "REQUIRED_FIELD_MISSING",
        "fields": ["Status"],
    }


async def test_orders_describe_shows_flags_of_the_declared_schema(
    client: httpx.AsyncClient,
) -> None:
    order = (await client.get(f"{V}/sobjects/Order/describe")).json()
    status = next(f for f in order["fields"] if f["name"] == "Status")
    assert (status["nillable"], status["defaultedOnCreate"], status["createable"]) == (
        False, True, True,
    )  # fmt: skip
    assert [p["value"] for p in status["picklistValues"] if p["defaultValue"]] == ["Draft"]
    item = (await client.get(f"{V}/sobjects/OrderItem/describe")).json()
    flags = {f["name"]: (f["createable"], f["updateable"]) for f in item["fields"]}
    assert flags["Product2Id"] == (True, False)
    assert flags["OrderId"] == flags["PricebookEntryId"] == (True, False)
    contact = (await client.get(f"{V}/sobjects/Contact/describe")).json()
    opted = next(f for f in contact["fields"] if f["name"] == "HasOptedOutOfEmail")
    assert (opted["nillable"], opted["defaultedOnCreate"], opted["defaultValue"]) == (
        False, True, False,
    )  # fmt: skip
