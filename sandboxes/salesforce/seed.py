"""The seeded catalog: read from ``seed.yaml``, loaded into a fresh org, and exposed to storefronts.

``load_seed()`` is public so the demo storefront hydrates its catalog (SKUs, prices, stock,
course ids and the Salesforce ids) from the same file the sandbox serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict

from sandboxes.salesforce.store import Store
from sandboxes.salesforce.validation import SF_DATETIME

SEED_PATH = Path(__file__).with_name("seed.yaml")
PurchaseType = Literal["physical", "digital_license", "paid_event", "free_event"]
PICKLIST_LABELS: dict[str, str] = {
    "physical": "Physical",
    "digital_license": "Digital License",
    "paid_event": "Paid Event",
    "free_event": "Free Event",
}


class _ProductDeclaration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str
    name: str
    purchase_type: PurchaseType
    price: Decimal
    product2_id: str
    pricebook_entry_id: str
    stock: int | None = None
    thinkific_course_id: int | None = None
    license_term_days: int | None = None


class _SeedDeclaration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    currency: str
    pricebook: dict[str, str]
    products: list[_ProductDeclaration]


@dataclass(frozen=True, slots=True)
class SeedProduct:
    sku: str
    name: str
    purchase_type: PurchaseType
    price: Decimal
    product2_id: str
    pricebook_entry_id: str
    stock: int | None
    thinkific_course_id: int | None
    license_term_days: int | None


@dataclass(frozen=True, slots=True)
class SeedCatalog:
    currency: str
    pricebook_id: str
    pricebook_name: str
    products: tuple[SeedProduct, ...]

    def by_sku(self, sku: str) -> SeedProduct:
        return next(product for product in self.products if product.sku == sku)


def load_seed(path: Path = SEED_PATH) -> SeedCatalog:
    declared = _SeedDeclaration.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    return SeedCatalog(
        currency=declared.currency,
        pricebook_id=declared.pricebook["id"],
        pricebook_name=declared.pricebook["name"],
        products=tuple(SeedProduct(**p.model_dump()) for p in declared.products),
    )


def plant(store: Store, catalog: SeedCatalog, stamp: Any) -> None:
    """Insert the catalog as records, bypassing validation as the org's own setup would."""
    now = stamp.strftime(SF_DATETIME)
    stamps = {
        "CreatedDate": now,
        "LastModifiedDate": now,
        "SystemModstamp": now,
        "IsDeleted": False,
    }
    store.insert("Pricebook2", {
        "Id": catalog.pricebook_id, "Name": catalog.pricebook_name,
        "IsStandard": True, "IsActive": True, **stamps,
    })  # fmt: skip
    for product in catalog.products:
        store.insert("Product2", {
            "Id": product.product2_id, "Name": product.name, "ProductCode": product.sku,
            "StockKeepingUnit": product.sku, "IsActive": True,
            "Purchase_Type__c": PICKLIST_LABELS[product.purchase_type],
            "Stock_Quantity__c": None if product.stock is None else float(product.stock),
            "Thinkific_Course_Id__c": _text(product.thinkific_course_id), **stamps,
        })  # fmt: skip
        store.insert("PricebookEntry", {
            "Id": product.pricebook_entry_id, "Pricebook2Id": catalog.pricebook_id,
            "Product2Id": product.product2_id, "UnitPrice": float(product.price),
            "IsActive": True, "CurrencyIsoCode": catalog.currency, **stamps,
        })  # fmt: skip


def _text(value: int | None) -> str | None:
    return None if value is None else str(value)
