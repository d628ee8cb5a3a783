"""``/composite`` and ``/composite/graph`` (API-NOTES §1.4)."""

from __future__ import annotations

from typing import Any

import httpx

from sandboxes.salesforce import SandboxState
from tests.sandboxes.salesforce.conftest import V

# sf_composite_response.json: one subrequest result.
SUBRESPONSE_KEYS = {"body", "httpHeaders", "httpStatusCode", "referenceId"}
# sf_composite_allornone_failure.json: the body of a subrequest rolled back by another's failure.
HALTED = [
    {
        "errorCode": "PROCESSING_HALTED",
        "message": "The transaction was rolled back since another operation in the same "
        "transaction failed.",
    }
]


def order_with_line(order_ext: str = "SO-1", quantity: Any = 2) -> list[dict[str, Any]]:
    return [
        {
            "method": "PATCH",
            "url": f"{V}/sobjects/Account/Storefront_Account_Id__c/a-1",
            "referenceId": "refAccount",
            "body": {"Name": "Clinic"},
        },
        {
            "method": "PATCH",
            "url": f"{V}/sobjects/Order/Storefront_Order_Number__c/{order_ext}",
            "referenceId": "refOrder",
            "body": {
                "AccountId": "@{refAccount.id}",
                "EffectiveDate": "2026-11-25",
                "Status": "Draft",
                "Pricebook2Id": "01sDm0000000001IAA",
            },
        },
        {
            "method": "PATCH",
            "url": f"{V}/sobjects/OrderItem/Storefront_Line_Id__c/{order_ext}-1",
            "referenceId": "refLine",
            "body": {
                "OrderId": "@{refOrder.id}",
                "PricebookEntryId": "01uDm0000000001IAA",
                "Quantity": quantity,
                "UnitPrice": 30.0,
            },
        },
    ]


async def test_composite_references_link_order_and_line(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    body = {"allOrNone": True, "compositeRequest": order_with_line()}
    responses = (await client.post(f"{V}/composite", json=body)).json()["compositeResponse"]
    assert [set(r) for r in responses] == [SUBRESPONSE_KEYS] * 3
    assert [r["httpStatusCode"] for r in responses] == [201, 201, 201]
    assert responses[1]["httpHeaders"]["Location"].startswith(f"{V}/sobjects/Order/801")
    line = state.store.get("OrderItem", responses[2]["body"]["id"])
    assert line is not None
    assert line["OrderId"] == responses[1]["body"]["id"]
    assert state.usage.used == 1  # the whole composite request counts as one API call


async def test_composite_all_or_none_failure_halts_the_rest(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    body = {"allOrNone": True, "compositeRequest": order_with_line(quantity="two")}
    responses = (await client.post(f"{V}/composite", json=body)).json()["compositeResponse"]
    assert [r["httpStatusCode"] for r in responses] == [400, 400, 400]
    assert responses[0]["body"] == HALTED
    assert responses[1]["body"] == HALTED
    assert responses[2]["body"][0]["errorCode"] == "JSON_PARSER_ERROR"
    assert not state.store.live["Account"]
    assert not state.store.live["Order"]


async def test_composite_without_all_or_none_halts_dependants(client: httpx.AsyncClient) -> None:
    requests = order_with_line()
    requests[0]["body"] = {"Name": None}
    body = {"allOrNone": False, "compositeRequest": requests}
    responses = (await client.post(f"{V}/composite", json=body)).json()["compositeResponse"]
    assert responses[0]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert responses[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"


async def test_composite_over_25_subrequests_refused(client: httpx.AsyncClient) -> None:
    sub = {"method": "GET", "url": f"{V}/limits"}
    requests = [{**sub, "referenceId": f"r{n}"} for n in range(26)]
    response = await client.post(f"{V}/composite", json={"compositeRequest": requests})
    assert response.status_code == 400


async def test_composite_graph_is_all_or_nothing_per_graph(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    graphs = [
        {"graphId": "good", "compositeRequest": order_with_line("SO-1")},
        {"graphId": "bad", "compositeRequest": order_with_line("SO-2", quantity="x")},
    ]
    body = (await client.post(f"{V}/composite/graph", json={"graphs": graphs})).json()
    assert [(g["graphId"], g["isSuccessful"]) for g in body["graphs"]] == [
        ("good", True),
        ("bad", False),
    ]
    assert set(body["graphs"][0]["graphResponse"]) == {"compositeResponse"}
    assert [o["Storefront_Order_Number__c"] for o in state.store.live["Order"].values()] == ["SO-1"]


def accounts_then_contact(names: list[Any], inner: bool) -> list[dict[str, Any]]:
    """The REST API guide's example in "allOrNone Parameters in Composite and Collections
    Requests" (resources_composite_allornone.htm): Collections create Accounts, then a Contact."""
    return [
        {
            "method": "POST",
            "url": f"{V}/composite/sobjects",
            "referenceId": "newAccounts",
            "body": {
                "allOrNone": inner,
                "records": [{"attributes": {"type": "Account"}, "Name": n} for n in names],
            },
        },
        {
            "method": "POST",
            "url": f"{V}/sobjects/Contact",
            "referenceId": "newContact",
            "body": {"FirstName": "John", "LastName": "Smith"},
        },
    ]


async def test_composite_all_or_none_overrides_a_collections_subrequests_own_flag(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    # The guide: with the composite's allOrNone true, all-or-none applies to each Collections
    # subrequest whatever its own flag; one Account refused rolls everything back.
    body = {
        "allOrNone": True,
        "collateSubrequests": False,
        "compositeRequest": accounts_then_contact(["Northern Trail", None], inner=False),
    }
    responses = (await client.post(f"{V}/composite", json=body)).json()["compositeResponse"]
    accounts, contact = responses
    assert [r["success"] for r in accounts["body"]] == [False, False]
    assert accounts["body"][0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert accounts["body"][1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert (contact["httpStatusCode"], contact["body"]) == (400, HALTED)
    assert not state.store.live["Account"]
    assert not state.store.live["Contact"]


async def test_composite_without_all_or_none_leaves_a_collections_subrequest_its_own_flag(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    # The guide's first case (both flags false): one Account is created, one fails, and the
    # Contact, which depends on neither, is created.
    body = {
        "allOrNone": False,
        "collateSubrequests": False,
        "compositeRequest": accounts_then_contact(["Northern Trail", None], inner=False),
    }
    responses = (await client.post(f"{V}/composite", json=body)).json()["compositeResponse"]
    accounts, contact = responses
    assert [r["success"] for r in accounts["body"]] == [True, False]
    assert contact["httpStatusCode"] == 201
    assert [a["Name"] for a in state.store.live["Account"].values()] == ["Northern Trail"]
    assert len(state.store.live["Contact"]) == 1


async def test_composite_with_more_than_five_collections_or_queries_refused(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    # The guide's Composite resource: up to 25 subrequests, of which at most 5 may be
    # sObject Collections or query operations (Query and QueryAll included).
    def collections(n: int) -> dict[str, Any]:
        records = [{"attributes": {"type": "Account"}, "Name": f"Clinic {n}"}]
        return {
            "method": "POST",
            "url": f"{V}/composite/sobjects",
            "referenceId": f"accounts{n}",
            "body": {"allOrNone": False, "records": records},
        }

    query = {"method": "GET", "url": f"{V}/query?q=SELECT+Id+FROM+Account", "referenceId": "q"}
    five = [collections(n) for n in range(4)] + [query]
    ok = await client.post(f"{V}/composite", json={"compositeRequest": five})
    assert ok.status_code == 200
    assert len(state.store.live["Account"]) == 4
    six = [*five, collections(4)]
    refused = await client.post(f"{V}/composite", json={"compositeRequest": six})
    assert refused.status_code == 400
    assert len(state.store.live["Account"]) == 4  # nothing of a refused request ran
