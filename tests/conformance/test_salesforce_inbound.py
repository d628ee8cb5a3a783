"""Changes made in Salesforce come back to the storefront (pull_changes), against the sandbox
org: ownership per field, no echo of the outbox's own writes, conflicts, merges and deletions,
organisations' price tier and credit limit, and a change read twice applied once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
import structlog

from dispatcher.core.destination import Result
from dispatcher.maintenance import pull_changes
from dispatcher.maintenance.org import SalesforceOrg
from dispatcher.maintenance.scheduler import Job, JobContext, run_job
from outbox.shop import update_customer
from sandboxes.salesforce import SandboxSettings
from tests.conformance.salesforce_org import BASE_URL, SECRET_ENV, Org, place


class Clock:
    """The org's clock, moved by the test: SystemModstamp has one-second resolution."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self) -> None:
        self.now += timedelta(minutes=1)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox_settings(clock: Clock) -> SandboxSettings:
    # Pages of two records, so every test reads several pages (nextRecordsUrl).
    return SandboxSettings(random_seed=7, clock=clock, query_batch_size=2)


async def pull(org: Org, http: Any) -> str:
    detail = await pull_once(org, http)
    assert detail.startswith("read "), detail  # a failed run's detail names the exception
    return detail


async def pull_once(org: Org, http: Any) -> str:
    options = {
        "instance_url": BASE_URL,
        "auth": {"client_id": "sandbox-consumer-key", "client_secret_env": SECRET_ENV},
    }
    settings = pull_changes.Settings(SalesforceOrg(options, name="salesforce"))
    job = Job("pull_changes", 60.0, pull_changes.run, settings)
    context = JobContext(org.pool, "w", structlog.get_logger("test"), client=http)
    ran, detail = await run_job(job, context, force=True)
    assert ran
    assert detail is not None
    return detail


def inbox(shop: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    shop.commit()
    return shop.execute(
        "SELECT object_name, storefront_key, status, applied, detail FROM outbox.inbound_changes "
        "ORDER BY id"
    ).fetchall()


def customer(shop: psycopg.Connection[Any], email: str) -> tuple[Any, ...]:
    shop.commit()
    row = shop.execute(
        "SELECT first_name, last_name, phone, email_opt_out, address_line1, city, "
        "profile_version FROM commerce.customers WHERE email = %s",
        (email,),
    ).fetchone()
    assert row is not None
    return tuple(row)


async def edit(org: Org, http: Any, sobject: str, record_id: str, **fields: Any) -> None:
    response = await http.patch(f"/__sandbox/records/{sobject}/{record_id}", json=fields)
    assert response.status_code == 200, response.text


def contact_of(org: Org, key: str) -> dict[str, Any]:
    (found,) = [c for c in org.records("Contact") if c.get("Storefront_Customer_Id__c") == key]
    return found


async def edit_contact(org: Org, http: Any, key: str, **fields: Any) -> None:
    """A person's edit of the Contact of storefront key ``key``, in Salesforce."""
    await edit(org, http, "Contact", contact_of(org, key)["Id"], **fields)


async def written_to_salesforce(org: Org, clock: Clock, http: Any = None) -> None:
    """The orders placed so far written to the org (and, given ``http``, the org read back
    once), a minute before a person edits there: where each test starts."""
    await org.deliver_due()
    if http is not None:
        await pull(org, http)
    clock.tick()


async def test_salesforce_inbound_contact_fields_reach_the_customer_once(
    org: Org, shop: psycopg.Connection[Any], http: Any, clock: Clock
) -> None:
    place(shop, "SO-1")
    assert [o.result for o in await org.deliver_due()] == [Result.DELIVERED]
    first = await pull(org, http)
    assert inbox(shop) == [
        ("Account", "c-1", "skipped", [], "not a record the storefront keeps "
         "(Storefront_Account_Id__c not org:...)"),
        ("Contact", "c-1", "skipped", [], "no change: the integration user's own write"),
    ]  # fmt: skip
    assert first == "read 2 change(s), 2 new: 2 skipped"
    before = customer(shop, "so-1@example.org")
    clock.tick()
    contact = contact_of(org, "c-1")
    await edit(org, http, "Contact", contact["Id"], Phone="+44 113 496 0000",
               HasOptedOutOfEmail=True, MailingStreet="1 Park Row", MailingCity="Leeds",
               Email="someone.else@example.org")  # fmt: skip
    await pull(org, http)
    assert customer(shop, "so-1@example.org") == (
        "Ada", "Lovelace SO-1", "+44 113 496 0000", True, "1 Park Row", "Leeds", before[-1]
    )  # fmt: skip
    last = inbox(shop)[-1]
    assert last[2:4] == ("applied", ["city", "email_opt_out", "phone", "street"])
    # The storefront owns the e-mail address: read, never written.
    assert shop.execute("SELECT count(*) FROM commerce.customers").fetchone() == (1,)
    # The overlap re-reads the same change: recorded once, applied once.
    again = await pull(org, http)
    assert again == "read 2 change(s), 0 new: none"
    assert len(inbox(shop)) == 3
    assert shop.execute(
        "SELECT count(*) FROM outbox.messages WHERE event_type = 'customer.updated'"
    ).fetchone() == (0,)


async def test_salesforce_inbound_next_order_carries_the_corrections_and_keeps_them(
    org: Org, shop: psycopg.Connection[Any], http: Any, clock: Clock
) -> None:
    place(shop, "SO-1")
    await written_to_salesforce(org, clock)
    await edit_contact(org, http, "c-1", Phone="555 0100", HasOptedOutOfEmail=True,
                       MailingCity="Leeds")  # fmt: skip
    await pull(org, http)
    clock.tick()
    place(shop, "SO-2", email="so-1@example.org")
    (payload,) = shop.execute(
        "SELECT payload -> 'customer' FROM outbox.messages "
        "WHERE event_type = 'order.placed' AND payload #>> '{order,number}' = 'SO-2'"
    ).fetchone()
    assert (payload["email_opt_out"], payload["phone"]) == (True, "555 0100")
    assert [o.result for o in await org.deliver_due()] == [Result.DELIVERED]
    after = contact_of(org, "c-1")
    assert (after["HasOptedOutOfEmail"], after["Phone"], after["MailingCity"]) == (
        True, "555 0100", "Leeds"
    )  # fmt: skip
    assert after["LastModifiedById"] == org.sandbox.settings.user_id  # the order did write it


async def test_salesforce_inbound_a_storefront_rename_is_one_write_out_and_none_back(
    org: Org, shop: psycopg.Connection[Any], http: Any, clock: Clock
) -> None:
    place(shop, "SO-1")
    await written_to_salesforce(org, clock, http)
    update_customer(shop, "so-1@example.org", first_name="Augusta")
    shop.commit()
    writes_before = org.sandbox.store.writes["Contact"]["c-1"].updated
    assert [o.result for o in await org.deliver_due()] == [Result.DELIVERED]
    assert org.sandbox.store.writes["Contact"]["c-1"].updated == writes_before + 1
    clock.tick()
    await pull(org, http)
    rows = inbox(shop)
    assert rows[-1][1:3] == ("c-1", "skipped")
    assert [r for r in rows if r[2] == "applied"] == []
    assert customer(shop, "so-1@example.org")[0] == "Augusta"
    assert await org.deliver_due() == []


async def test_salesforce_inbound_both_sides_renamed_keeps_the_storefront_and_records_it(
    org: Org, shop: psycopg.Connection[Any], http: Any, clock: Clock
) -> None:
    place(shop, "SO-1")
    await written_to_salesforce(org, clock, http)
    await edit_contact(org, http, "c-1", FirstName="Ann", Phone="1")
    update_customer(shop, "so-1@example.org", first_name="Augusta")  # not delivered yet
    shop.commit()
    await pull(org, http)
    assert customer(shop, "so-1@example.org")[:3] == ("Augusta", "Lovelace SO-1", "1")
    conflicts = shop.execute(
        "SELECT field, storefront_column, storefront_value, salesforce_value, kept "
        "FROM outbox.inbound_conflicts"
    ).fetchall()
    assert conflicts == [("FirstName", "first_name", "Augusta", "Ann", "storefront")]
    # The storefront's rename still goes out: the owner's value wins in Salesforce too.
    assert [o.result for o in await org.deliver_due()] == [Result.DELIVERED]
    assert contact_of(org, "c-1")["FirstName"] == "Augusta"


async def test_salesforce_inbound_merge_moves_later_writes_to_the_survivor(
    org: Org, shop: psycopg.Connection[Any], http: Any, clock: Clock
) -> None:
    place(shop, "SO-1")
    place(shop, "SO-2")
    await written_to_salesforce(org, clock, http)
    master, loser = contact_of(org, "c-1"), contact_of(org, "c-2")
    merged = await http.post(
        "/__sandbox/merge/Contact", json={"master": master["Id"], "merged": [loser["Id"]]}
    )
    assert merged.status_code == 200
    detail = await pull(org, http)
    assert "1 merge(s) followed" in detail
    row = shop.execute(
        "SELECT salesforce_id, upsert_key, matched_by FROM outbox.salesforce_ids "
        "WHERE object_name = 'Contact' AND storefront_key = 'c-2'"
    ).fetchone()
    assert row == (master["Id"], "c-1", "merge")
    clock.tick()
    place(shop, "SO-3", email="so-2@example.org")
    outcomes = await org.deliver_due()
    assert [(o.result, o.error_code) for o in outcomes] == [(Result.DELIVERED, None)]
    assert [c["Id"] for c in org.records("Contact")] == [master["Id"]]
    (order,) = [o for o in org.records("Order") if o["Storefront_Order_Number__c"] == "SO-3"]
    assert order["BillToContactId"] == master["Id"]
    # The survivor keeps its own Account: the merged customer's writes never move it.
    assert contact_of(org, "c-1")["AccountId"] == master["AccountId"]


async def test_salesforce_inbound_deleted_contact_is_created_again_by_the_next_write(
    org: Org, shop: psycopg.Connection[Any], http: Any, clock: Clock
) -> None:
    place(shop, "SO-1")
    await written_to_salesforce(org, clock)
    old = contact_of(org, "c-1")
    orders = [o["Id"] for o in org.records("Order")]
    for order_id in orders:  # an Account with orders cannot be deleted; a Contact can
        assert order_id
    assert (await http.delete(f"/__sandbox/records/Contact/{old['Id']}")).status_code == 204
    await pull(org, http)
    assert inbox(shop)[-1][2:] == (
        "applied", [], "deleted in Salesforce: forgotten; the next write creates it again"
    )  # fmt: skip
    clock.tick()
    place(shop, "SO-2", email="so-1@example.org")
    assert [o.result for o in await org.deliver_due()] == [Result.DELIVERED]
    assert contact_of(org, "c-1")["Id"] != old["Id"]


async def test_salesforce_inbound_organisation_tier_and_credit_limit(
    org: Org, shop: psycopg.Connection[Any], http: Any, clock: Clock
) -> None:
    place(shop, "SO-1", organisation="Northgate Clinic")
    await written_to_salesforce(org, clock)
    (account,) = [
        a for a in org.records("Account")
        if a["Storefront_Account_Id__c"] == "org:northgate clinic"
    ]  # fmt: skip
    await edit(org, http, "Account", account["Id"], Price_Tier__c="Gold", Credit_Limit__c=5000,
               Name="Northgate Clinic NHS Trust")  # fmt: skip
    await pull(org, http)
    shop.commit()
    assert shop.execute(
        "SELECT key, name, price_tier, credit_limit, salesforce_account_id "
        "FROM commerce.organisations"
    ).fetchall() == [
        ("northgate clinic", "Northgate Clinic NHS Trust", "Gold", Decimal("5000.00"),
         account["Id"])
    ]  # fmt: skip
    clock.tick()
    await edit(org, http, "Account", account["Id"], Credit_Limit__c=2500)
    await pull(org, http)
    shop.commit()
    assert shop.execute(
        "SELECT name, price_tier, credit_limit FROM commerce.organisations"
    ).fetchall() == [("Northgate Clinic NHS Trust", "Gold", Decimal("2500.00"))]
    summary = shop.execute(
        "SELECT object_name, applied, conflict FROM outbox.inbound_summary ORDER BY 1"
    ).fetchall()
    assert summary == [("Account", 2, 0), ("Contact", 0, 0)]


async def test_salesforce_inbound_a_run_failing_midway_applies_each_change_once(
    org: Org, shop: psycopg.Connection[Any], http: Any, clock: Clock
) -> None:
    place(shop, "SO-1", "SO-2", "SO-3")
    await written_to_salesforce(org, clock)
    for n in (1, 2, 3):
        await edit_contact(org, http, f"c-{n}", Phone=f"555 {n}")
    fault = {"kind": "server_unavailable", "path": "/query/01g", "count": 1}
    assert (await http.post("/__sandbox/faults", json=fault)).status_code == 200
    failed = await pull_once(org, http)
    assert failed.startswith("RetryableError"), failed
    shop.commit()
    # The first page of Accounts committed with its watermark; nothing of the rest.
    assert shop.execute(
        "SELECT object_name, count(*) FROM outbox.inbound_changes GROUP BY 1"
    ).fetchall() == [("Account", 2)]
    await pull(org, http)
    rows = shop.execute(
        "SELECT object_name, status, count(*) FROM outbox.inbound_changes GROUP BY 1, 2 "
        "ORDER BY 1, 2"
    ).fetchall()
    assert rows == [("Account", "skipped", 3), ("Contact", "applied", 3)]
    phones = shop.execute("SELECT phone FROM commerce.customers ORDER BY id").fetchall()
    assert phones == [("555 1",), ("555 2",), ("555 3",)]
    again = await pull(org, http)
    assert again.endswith("0 new: none")


def contact_watermark(shop: psycopg.Connection[Any]) -> datetime:
    shop.commit()
    row = shop.execute(
        "SELECT watermark FROM outbox.inbound_watermarks WHERE object_name = 'Contact'"
    ).fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


async def test_salesforce_inbound_a_value_the_column_cannot_hold_is_a_conflict_not_a_stuck_page(
    org: Org, shop: psycopg.Connection[Any], http: Any, clock: Clock
) -> None:
    # A storefront's own schema may be narrower than Salesforce's (Contact.Phone holds 40).
    shop.execute("ALTER TABLE commerce.customers ALTER COLUMN phone TYPE varchar(20)")
    place(shop, "SO-1", "SO-2")
    await written_to_salesforce(org, clock)
    long_phone = "+44 113 496 0000 ext. 12345"
    await edit_contact(org, http, "c-1", Phone="555 0101")
    await edit_contact(org, http, "c-2", Phone=long_phone, MailingCity="York")
    first = await pull(org, http)
    assert first == "read 4 change(s), 4 new: 1 applied, 1 conflict, 2 skipped"
    rows = [r for r in inbox(shop) if r[0] == "Contact"]
    assert rows == [
        ("Contact", "c-1", "applied", ["phone"], None),
        ("Contact", "c-2", "conflict", ["city"],
         f"Phone '{long_phone}' does not fit customers.phone: value too long for type "
         "character varying(20)"),
    ]  # fmt: skip
    assert customer(shop, "so-1@example.org")[2] == "555 0101"
    assert customer(shop, "so-2@example.org")[2:6] == (None, False, None, "York")
    assert contact_watermark(shop) == clock.now
    conflicts = shop.execute(
        "SELECT storefront_key, field, storefront_value, salesforce_value, kept, reason "
        "FROM outbox.inbound_conflicts"
    ).fetchall()
    assert conflicts == [("c-2", "Phone", None, long_phone, "storefront", rows[1][4])]
    # Read again by the overlap: recorded once, never tried again.
    assert await pull(org, http) == "read 4 change(s), 0 new: none"
    assert len(inbox(shop)) == 4
    # Corrected in Salesforce, the next change applies.
    clock.tick()
    await edit_contact(org, http, "c-2", Phone="555 0102")
    await pull(org, http)
    assert inbox(shop)[-1][1:4] == ("c-2", "applied", ["phone"])
    assert customer(shop, "so-2@example.org")[2] == "555 0102"


async def test_salesforce_inbound_organisation_terms_beyond_the_columns_are_conflicts(
    org: Org, shop: psycopg.Connection[Any], http: Any, clock: Clock
) -> None:
    place(shop, "SO-1", organisation="Northgate Clinic")
    place(shop, "SO-2", organisation="Leeds College")
    await written_to_salesforce(org, clock)
    accounts = {a["Storefront_Account_Id__c"]: a["Id"] for a in org.records("Account")}
    # Salesforce's percent(5, 2) and currency(16, 2) hold what numeric(5, 2) between 0 and
    # 100 and numeric(12, 2) cannot.
    await edit(org, http, "Account", accounts["org:northgate clinic"], Price_Tier__c="Gold",
               Discount_Percent__c=150, Credit_Limit__c=12345678901)  # fmt: skip
    await edit(org, http, "Account", accounts["org:leeds college"], Price_Tier__c="Silver")
    await pull(org, http)
    shop.commit()
    assert shop.execute(
        "SELECT key, price_tier, discount_percent, credit_limit FROM commerce.organisations "
        "ORDER BY key"
    ).fetchall() == [("leeds college", "Silver", None, None),
                     ("northgate clinic", "Gold", None, None)]  # fmt: skip
    reasons = shop.execute(
        "SELECT field, salesforce_value, reason FROM outbox.inbound_conflicts ORDER BY field"
    ).fetchall()
    assert reasons == [
        ("Credit_Limit__c", "12345678901",
         "Credit_Limit__c 12345678901 does not fit organisations.credit_limit: numeric field "
         "overflow (A field with precision 12, scale 2 must round to an absolute value less "
         "than 10^10.)"),
        ("Discount_Percent__c", "150",
         "Discount_Percent__c 150 does not fit organisations.discount_percent: check "
         "organisations_discount_percent_check: CHECK (((discount_percent >= (0)::numeric) "
         "AND (discount_percent <= (100)::numeric)))"),
    ]  # fmt: skip
