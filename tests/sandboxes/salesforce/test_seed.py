"""The seeded catalog: four purchase types, fixed ids, served through the API."""

from __future__ import annotations

import httpx

from sandboxes.salesforce import load_seed
from sandboxes.salesforce.ids import with_checksum
from tests.sandboxes.salesforce.conftest import V


def test_seed_covers_every_purchase_type_and_course() -> None:
    catalog = load_seed()
    assert {p.purchase_type for p in catalog.products} == {
        "physical", "digital_license", "paid_event", "free_event",
    }  # fmt: skip
    assert sorted(p.thinkific_course_id for p in catalog.products if p.thinkific_course_id) == [
        1001, 1002, 1003,
    ]  # fmt: skip
    for product in catalog.products:
        assert product.product2_id == with_checksum(product.product2_id[:15])
        assert product.pricebook_entry_id.startswith("01u")


async def test_seed_served_by_the_api(client: httpx.AsyncClient) -> None:
    book = load_seed().by_sku("WB-101")
    product = (await client.get(f"{V}/sobjects/Product2/StockKeepingUnit/WB-101")).json()
    assert product["Id"] == book.product2_id
    assert product["Stock_Quantity__c"] == 5000.0
    entry = (await client.get(f"{V}/sobjects/PricebookEntry/{book.pricebook_entry_id}")).json()
    assert entry["UnitPrice"] == 30.0
    assert entry["Product2Id"] == book.product2_id
