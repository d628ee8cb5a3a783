"""Catalog pull: stock and prices originate in Salesforce and come here on a schedule.

SOQL over Product2 and the standard price book's PricebookEntry rows changed since the stored
watermark (``SystemModstamp``, re-reading one second of overlap because timestamps tie), every
page followed through ``nextRecordsUrl``. The rows, the watermarks and the run's record commit
in one transaction, so a crash never leaves data ahead of (or behind) its watermark. The first
run on an empty database is the full hydration.

Stock: Salesforce's count (``stock_field``) is what arrived in the warehouse; the units sold here
since live in ``commerce.stock_movements``. Each run first writes the movements Salesforce has
not seen into its count (``stock_push``), then reads the count with ``mark_field``, the last
movement it includes; the stock on hand here becomes that count less the movements after the
mark. A pull therefore never puts a sold unit back on sale, whatever runs between it and the
checkouts. The safety stock (configured, or per product from ``safety_stock_field``) is applied to
every product on every run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from dispatcher.config import PullCatalogConfig
from dispatcher.destinations.salesforce.api import SalesforceApi
from dispatcher.maintenance.org import SalesforceOrg
from dispatcher.maintenance.scheduler import JobContext
from dispatcher.maintenance.stock_push import Pushed, push_stock
from outbox.queries import query

OVERLAP = timedelta(seconds=1)
PURCHASE_TYPES = {
    "Physical": "physical",
    "Digital License": "digital_license",
    "Paid Event": "paid_event",
    "Free Event": "free_event",
}


@dataclass(frozen=True, slots=True)
class Fields:
    """The Product2 fields the pull reads: stock, the mark of movements it includes, and the
    optional per-product safety stock."""

    stock: str
    mark: str | None
    safety: str | None

    @classmethod
    def of(cls, settings: PullCatalogConfig) -> Fields:
        return cls(
            settings.stock_field,
            settings.stock_mark_field or None,
            settings.safety_stock_field or None,
        )

    def soql(self) -> str:
        return ", ".join(f for f in (self.stock, self.mark, self.safety) if f)


@dataclass(frozen=True, slots=True)
class Settings:
    """The org to pull from, and the job's section of the configuration."""

    org: SalesforceOrg
    job: PullCatalogConfig = field(default_factory=PullCatalogConfig)


@dataclass(frozen=True, slots=True)
class Pulled:
    products: list[dict[str, Any]]
    prices: list[dict[str, Any]]
    errors: list[str]
    newest: dict[str, datetime]


async def run(context: JobContext) -> str:
    settings: Settings = context.settings
    api = settings.org.api(context, "the catalog pull")
    fields = Fields.of(settings.job)
    pushed = Pushed(0, 0, [])
    if fields.mark is not None:
        pushed = await push_stock(api, context.pool, fields.stock, fields.mark)
    async with context.pool.connection() as conn:
        marks = {
            s: await _watermark(conn, s)
            for s in ("salesforce.Product2", "salesforce.PricebookEntry")
        }
    pulled = await _pull(api, marks, fields)
    pulled.errors.extend(pushed.errors)
    async with context.pool.connection() as conn, conn.transaction():
        run_id = (
            await (
                await conn.execute(query("start_sync_run"), {"source": "salesforce.catalog"})
            ).fetchone()
            or [0]
        )[0]
        changed = await _apply(conn, pulled, settings.job.safety_stock, fields)
        for source, newest in pulled.newest.items():
            await conn.execute(query("set_watermark"), {"source": source, "watermark": newest})
        detail = "; ".join(pulled.errors[:3]) or None
        await conn.execute(
            query("finish_sync_run"),
            {
                "run_id": run_id,
                "rows_read": len(pulled.products) + len(pulled.prices),
                "rows_changed": changed,
                "errors": len(pulled.errors),
                "detail": detail,
            },
        )
    written = (
        f"wrote {pushed.units} unit(s) sold of {pushed.products} product(s) to Salesforce, "
        if pushed.products
        else ""
    )
    return (
        f"{written}read {len(pulled.products)} product(s) and {len(pulled.prices)} price(s), "
        f"changed {changed} row(s), {len(pulled.errors)} error(s)"
    )


async def _watermark(conn: Any, source: str) -> datetime | None:
    row = await (await conn.execute(query("watermark"), {"source": source})).fetchone()
    return row[0] if row else None


def _since(mark: datetime | None) -> str:
    if mark is None:
        return ""
    return f" WHERE SystemModstamp > {(mark - OVERLAP).strftime('%Y-%m-%dT%H:%M:%SZ')}"


async def _pull(api: SalesforceApi, marks: dict[str, datetime | None], fields: Fields) -> Pulled:
    book = await api.query("SELECT Id FROM Pricebook2 WHERE IsStandard = true")
    entries = await api.query(
        "SELECT Id, Product2Id, UnitPrice, IsActive, Pricebook2Id, SystemModstamp "
        "FROM PricebookEntry"
        + (_since(marks["salesforce.PricebookEntry"]) or " WHERE IsActive = true")
        + " ORDER BY SystemModstamp, Id"
    )
    standard = {row["Id"] for row in book}
    prices = [
        {
            "product2_id": e["Product2Id"],
            "pricebook_entry_id": e["Id"],
            "price": e["UnitPrice"],
            "active": e["IsActive"],
        }
        for e in entries
        if e.get("Pricebook2Id") in standard
    ]
    products_raw = await api.query(
        f"SELECT Id, StockKeepingUnit, Name, IsActive, Purchase_Type__c, {fields.soql()}, "
        "Thinkific_Course_Id__c, SystemModstamp FROM Product2"
        + _since(marks["salesforce.Product2"])
        + " ORDER BY SystemModstamp, Id"
    )
    by_product = {p["product2_id"]: p for p in prices}
    products, errors = _products(products_raw, by_product, fields)
    newest = {
        source: max(_stamp(r["SystemModstamp"]) for r in rows)
        for source, rows in (
            ("salesforce.Product2", products_raw),
            ("salesforce.PricebookEntry", entries),
        )
        if rows
    }
    return Pulled(products, prices, errors, newest)


def _products(
    rows: list[dict[str, Any]], prices: dict[str, dict[str, Any]], fields: Fields
) -> tuple[list[dict[str, Any]], list[str]]:
    products, errors = [], []
    for row in rows:
        kind = PURCHASE_TYPES.get(str(row.get("Purchase_Type__c")))
        sku = row.get("StockKeepingUnit")
        if not sku or kind is None:
            errors.append(
                f"Product2 {row['Id']}: no SKU or unknown purchase type "
                f"{row.get('Purchase_Type__c')!r}"
            )
            continue
        course = row.get("Thinkific_Course_Id__c")
        if kind == "digital_license" and not course:
            errors.append(
                f"Product2 {row['Id']} ({sku}): a digital license needs Thinkific_Course_Id__c"
            )
            continue
        stock = row.get(fields.stock)
        mark = row.get(fields.mark) if fields.mark else None
        safety = row.get(fields.safety) if fields.safety else None
        price = prices.get(row["Id"], {})
        products.append(
            {
                "sku": sku,
                "name": row["Name"],
                "purchase_type": kind,
                "price": price.get("price"),
                "pricebook_entry_id": price.get("pricebook_entry_id"),
                "stock": int(stock or 0) if kind == "physical" else None,
                "reflected_through": int(mark or 0),
                "safety": None if safety is None else int(safety),
                "active": bool(row.get("IsActive", True)),
                "course_id": int(course) if course else None,
                "product2_id": row["Id"],
            }
        )
    return products, errors


async def _apply(conn: Any, pulled: Pulled, safety_stock: int, fields: Fields) -> int:
    changed = 0
    if pulled.products:
        params = {"rows": Jsonb(pulled.products), "safety_stock": safety_stock}
        await conn.execute(query("lock_pulled_products"), params)
        changed += (await (await conn.execute(query("upsert_products"), params)).fetchone())[0]
    params = {"safety_stock": safety_stock, "use_salesforce": fields.safety is not None}
    changed += (await (await conn.execute(query("apply_safety_stock"), params)).fetchone())[0]
    if pulled.prices:
        params = {"rows": Jsonb(pulled.prices)}
        changed += (await (await conn.execute(query("update_prices"), params)).fetchone())[0]
    return int(changed)


def _stamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00").replace("+0000", "+00:00"))
