"""``/query``, ``/queryAll`` and paging over the seeded catalog (API-NOTES §1.5)."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from sandboxes.salesforce import SandboxSettings, load_seed
from tests.sandboxes.salesforce.conftest import V, signed_in

# sf_queryall_response.json / sf_query_more_pages.json: page keys.
PAGE_KEYS = {"totalSize", "done", "records"}


async def soql(client: httpx.AsyncClient, text: str, resource: str = "query") -> httpx.Response:
    return await client.get(f"{V}/{resource}?q={quote(text)}")


async def test_query_filters_orders_and_limits(client: httpx.AsyncClient) -> None:
    text = (
        "SELECT StockKeepingUnit, Stock_Quantity__c FROM Product2 "
        "WHERE (Purchase_Type__c = 'physical' OR StockKeepingUnit LIKE 'dl-%') "
        "AND SystemModstamp > 2026-01-01T00:00:00Z ORDER BY StockKeepingUnit DESC LIMIT 4"
    )
    body = (await soql(client, text)).json()
    assert set(body) == PAGE_KEYS
    assert [r["StockKeepingUnit"] for r in body["records"]] == [
        "WB-102",
        "WB-101",
        "DL-303",
        "DL-302",
    ]
    assert body["records"][0]["attributes"]["type"] == "Product2"


async def test_query_parent_dotted_fields_nest(client: httpx.AsyncClient) -> None:
    text = (
        "SELECT Id, UnitPrice, Product2.StockKeepingUnit FROM PricebookEntry "
        "WHERE Product2.Thinkific_Course_Id__c IN ('1001', '1003') ORDER BY UnitPrice"
    )
    records = (await soql(client, text)).json()["records"]
    assert [(r["Product2"]["StockKeepingUnit"], r["UnitPrice"]) for r in records] == [
        ("DL-301", 40.0),
        ("DL-303", 65.0),
    ]
    assert records[0]["Product2"]["attributes"]["type"] == "Product2"


async def test_query_pages_with_next_records_url(clock: object) -> None:
    async with signed_in(SandboxSettings(query_batch_size=3)) as client:
        first = (await soql(client, "SELECT Id FROM Product2 ORDER BY Id")).json()
        assert (first["totalSize"], first["done"], len(first["records"])) == (7, False, 3)
        seen = [r["Id"] for r in first["records"]]
        page = first
        while not page["done"]:
            page = (await client.get(page["nextRecordsUrl"])).json()
            seen += [r["Id"] for r in page["records"]]
        assert "nextRecordsUrl" not in page
        assert seen == sorted(p.product2_id for p in load_seed().products)


async def test_query_all_includes_deleted_rows(client: httpx.AsyncClient) -> None:
    record_id = (await client.post(f"{V}/sobjects/Contact", json={"LastName": "Gone"})).json()["id"]
    await client.delete(f"{V}/sobjects/Contact/{record_id}")
    text = "SELECT Id, IsDeleted FROM Contact"
    assert (await soql(client, text)).json()["totalSize"] == 0
    rows = (await soql(client, text, "queryAll")).json()["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in rows] == [(record_id, True)]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("SELECT COUNT() FROM Product2", "MALFORMED_QUERY"),
        ("SELECT Id FROM Product2 GROUP BY Name", "MALFORMED_QUERY"),
        ("SELECT Id FROM Product2 WHERE Name = ", "MALFORMED_QUERY"),
        ("SELECT Id FROM Product2 WHERE Stock_Quantity__c = 'five'", "MALFORMED_QUERY"),
        ("SELECT Shoe__c FROM Product2", "INVALID_FIELD"),
        ("SELECT Id FROM Widget__c", "INVALID_TYPE"),
    ],
)
async def test_query_refuses_what_it_cannot_answer(
    client: httpx.AsyncClient, text: str, code: str
) -> None:
    response = await soql(client, text)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == code
    assert "ERROR at Row:1:Column:" in response.json()[0]["message"]


async def test_query_null_comparisons(client: httpx.AsyncClient) -> None:
    text = "SELECT StockKeepingUnit FROM Product2 WHERE Stock_Quantity__c != null ORDER BY Name"
    records = (await soql(client, text)).json()["records"]
    assert {r["StockKeepingUnit"] for r in records} == {"WB-101", "WB-102"}
