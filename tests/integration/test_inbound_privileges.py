"""Changes from Salesforce with the optional roles' rights alone: the dispatcher applies them,
the storefront checks out against the organisations they fill."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from dispatcher.maintenance.inbound_apply import PageContext, apply_page
from dispatcher.maintenance.inbound_decision import Change
from dispatcher.mapping import load
from outbox import migrate
from outbox.resources import resource_dir
from outbox.shop import CartLine, errors, place_order
from tests.fixtures.catalog import customer_factory, order_factory, product_factory

STAMP = "2026-12-01T09:00:00.000+0000"
PERSON = "005Sb0000000002AAA"


@pytest.fixture
def roles_db(db_url: str) -> str:
    migrate.upgrade(db_url, with_roles=True)
    return db_url


async def test_inbound_privileges_dispatcher_applies_a_page(roles_db: str) -> None:
    sections = load(resource_dir("mappings")).destinations["salesforce"].inbound
    with psycopg.connect(roles_db) as setup:
        setup.execute("INSERT INTO outbox.destinations (name) VALUES ('salesforce') "
                      "ON CONFLICT DO NOTHING")  # fmt: skip
        (customer_id,) = setup.execute(
            "INSERT INTO commerce.customers (email, last_name) "
            "VALUES ('a@example.org', 'Lovelace') RETURNING id"
        ).fetchone() or (0,)
        setup.execute(
            "INSERT INTO outbox.salesforce_ids (destination, object_name, storefront_key, "
            "upsert_key, salesforce_id) VALUES ('salesforce', 'Contact', %s, %s, '003A')",
            (f"c-{customer_id}", f"c-{customer_id}"),
        )
    async with await psycopg.AsyncConnection.connect(roles_db) as conn:
        await conn.execute("SET ROLE outbox_dispatcher")
        fields = {"LastName": "Lovelace", "Phone": "555", "HasOptedOutOfEmail": True}
        contact = Change("003B", STAMP, f"c-{customer_id}", False, None, PERSON, fields)
        merged = Change("003A", STAMP, None, True, "003B", PERSON, {})
        async with conn.transaction():
            page = await apply_page(
                conn, PageContext(sections["customer"], "salesforce", None), [contact, merged],
                {"003B": f"c-{customer_id}"},
            )  # fmt: skip
        account = Change("001A", STAMP, "org:northgate clinic", False, None, PERSON,
                         {"Name": "Northgate Clinic", "Price_Tier__c": "Gold",
                          "Credit_Limit__c": 100.0})  # fmt: skip
        async with conn.transaction():
            await apply_page(
                conn, PageContext(sections["organisation"], "salesforce", None), [account], {}
            )
    assert (page.new, page.merged, page.statuses) == (2, 1, {"applied": 2})
    with psycopg.connect(roles_db) as conn:
        assert conn.execute("SELECT phone, email_opt_out FROM commerce.customers").fetchone() == (
            "555",
            True,
        )
        assert conn.execute(
            "SELECT price_tier, credit_limit FROM commerce.organisations"
        ).fetchone() == ("Gold", Decimal("100.00"))


def test_inbound_privileges_storefront_checks_out_against_organisation_terms(
    roles_db: str,
) -> None:
    with psycopg.connect(roles_db) as conn:
        book = product_factory(conn, "physical", price="40.00", stock=10)
        conn.execute(
            "INSERT INTO commerce.organisations (key, name, discount_percent, credit_limit) "
            "VALUES ('northgate clinic', 'Northgate Clinic', 25, 50)"
        )
        conn.commit()
        conn.execute("SET ROLE outbox_storefront")
        buyer = customer_factory(organisation="Northgate Clinic")
        tier = (CartLine(book["sku"], 1, Decimal("30.00")),)
        place_order(conn, order_factory(*tier, customer=buyer, payment_method="invoice"))
        with pytest.raises(errors.CreditLimitExceededError):
            place_order(conn, order_factory(*tier, customer=buyer, payment_method="invoice"))
        conn.commit()


async def test_inbound_privileges_dispatcher_finds_the_changes_the_storefront_cannot_hold(
    roles_db: str,
) -> None:
    section = load(resource_dir("mappings")).destinations["salesforce"].inbound["organisation"]
    terms = [(10, 100.0), (150, 100.0), (20, 200.0), (30, -1.0), (40, 400.0)]
    accounts = [
        Change(f"001A{n}", STAMP, f"org:clinic {n}", False, None, PERSON,
               {"Name": f"Clinic {n}", "Discount_Percent__c": discount,
                "Credit_Limit__c": limit})
        for n, (discount, limit) in enumerate(terms)
    ]  # fmt: skip
    async with await psycopg.AsyncConnection.connect(roles_db) as conn:
        await conn.execute("SET ROLE outbox_dispatcher")
        async with conn.transaction():
            page = await apply_page(conn, PageContext(section, "salesforce", None), accounts, {})
    assert page.statuses == {"applied": 3, "conflict": 2}
    with psycopg.connect(roles_db) as conn:
        held = conn.execute(
            "SELECT key, discount_percent, credit_limit FROM commerce.organisations ORDER BY key"
        ).fetchall()
        assert held == [
            ("clinic 0", Decimal("10.00"), Decimal("100.00")),
            ("clinic 1", None, Decimal("100.00")),
            ("clinic 2", Decimal("20.00"), Decimal("200.00")),
            ("clinic 3", Decimal("30.00"), None),
            ("clinic 4", Decimal("40.00"), Decimal("400.00")),
        ]
        reasons = conn.execute(
            "SELECT storefront_key, reason FROM outbox.inbound_conflicts ORDER BY 1"
        ).fetchall()
        assert reasons == [
            ("org:clinic 1", "Discount_Percent__c 150 does not fit organisations.discount_percent: "
             "check organisations_discount_percent_check: CHECK (((discount_percent >= "
             "(0)::numeric) AND (discount_percent <= (100)::numeric)))"),
            ("org:clinic 3", "Credit_Limit__c -1 does not fit organisations.credit_limit: check "
             "organisations_credit_limit_check: CHECK (((credit_limit >= (0)::numeric) AND "
             "(credit_limit <> 'NaN'::numeric)))"),
        ]  # fmt: skip
