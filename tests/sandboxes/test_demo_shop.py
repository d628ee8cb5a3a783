"""The demo storefront never crashes on a catalog it cannot sell from; it says what is missing."""

from __future__ import annotations

import random
from typing import Any

import psycopg
import pytest

from sandboxes import salesforce, thinkific
from sandboxes.demo import boxes as demo_boxes
from sandboxes.demo import run as demo_run
from sandboxes.demo.chaos import Storefront
from sandboxes.demo.shop import DemoShop, IncompleteCatalogError, catalog_gaps, load_catalog


def test_demo_shop_order_from_empty_catalog_names_the_missing_type() -> None:
    shop = DemoShop(random.Random(3))
    with pytest.raises(IncompleteCatalogError, match="digital_license") as refused:
        shop.order(1, {})
    assert refused.value.missing == ["digital_license"]
    assert "pull the catalog" in str(refused.value)


def test_demo_shop_catalog_gaps_lists_each_type_without_a_product() -> None:
    catalog = {"WB-1": {"sku": "WB-1", "purchase_type": "physical", "price": 10, "sessions": []}}
    assert catalog_gaps(catalog) == ["digital_license", "paid_event", "free_event"]


def test_chaos_storefront_reports_an_empty_catalog_instead_of_crashing(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    assert conn.execute("SELECT count(*) FROM commerce.products").fetchone() == (0,)
    store = Storefront(db_url, rate=50.0, seed=5)
    store.CATALOG_WAIT_SECONDS = 0.3
    store.start()
    store.join(timeout=30)
    assert not store.is_alive()
    assert store.placed == 0
    assert len(store.failures) == 1
    assert store.failures[0].startswith("storefront stopped: the catalog has no active product")
    assert "physical, digital_license, paid_event, free_event" in store.failures[0]


def test_demo_pull_until_complete_retries_through_faults(db_url: str) -> None:
    with demo_boxes.sandboxes(chaos=False, seed=4) as boxes:
        rule = boxes.salesforce.faults.inject(salesforce.FaultKind.SERVER_UNAVAILABLE, remaining=3)
        demo_run.pull_until_complete(db_url, boxes, attempts=10)
        assert rule not in boxes.salesforce.faults.rules  # every injected failure was met
    with psycopg.connect(db_url) as conn:
        assert catalog_gaps(load_catalog(conn)) == []


def test_demo_pull_until_complete_names_what_never_arrived(db_url: str) -> None:
    with demo_boxes.sandboxes(chaos=False, seed=4) as boxes:
        boxes.salesforce.faults.inject(salesforce.FaultKind.SERVER_UNAVAILABLE)
        with pytest.raises(IncompleteCatalogError) as refused:
            demo_run.pull_until_complete(db_url, boxes, attempts=2)
    assert refused.value.missing == ["physical", "digital_license", "paid_event", "free_event"]


def _fault_draws(seed: int) -> tuple[list[bool], list[bool]]:
    with demo_boxes.sandboxes(chaos=False, seed=seed) as boxes:
        sf, tk = boxes.salesforce.faults, boxes.thinkific.faults
        sf.inject(salesforce.FaultKind.SERVER_UNAVAILABLE, probability=0.3)
        tk.inject(thinkific.FaultKind.SERVER_ERROR, probability=0.3)
        sf_draws = [bool(sf.draw("/services/data")) for _ in range(40)]
        tk_draws = [bool(tk.draw("GET", "/api/public/v1/users")) for _ in range(40)]
    return sf_draws, tk_draws


def test_demo_sandboxes_seeded_faults_repeat_exactly() -> None:
    first, again, other = _fault_draws(21), _fault_draws(21), _fault_draws(22)
    assert first == again
    assert first != other
    assert any(first[0])
    assert not all(first[0])
