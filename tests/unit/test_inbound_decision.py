"""The ownership rules a change read from Salesforce is decided by (jobs.inbound_decision)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from dispatcher.maintenance.inbound_decision import Change, InboundStatus, decide, unheld
from dispatcher.mapping import Owner
from dispatcher.mapping.compiled import InboundField, InboundMapping

INTEGRATION = "005Sb0000000001AAA"
PERSON = "005Sb0000000002AAA"
SECTION = InboundMapping(
    "customer", "Contact", "Storefront_Customer_Id__c", "customers", "", "storefront",
    (
        InboundField("FirstName", "first_name", Owner.SHARED),
        InboundField("Email", "email", Owner.STOREFRONT),
        InboundField("Phone", "phone", Owner.SALESFORCE),
    ),
)  # fmt: skip
HELD = {"first_name": "Ada", "email": "ada@example.org", "phone": None}
READ = {"FirstName": "Ada", "Email": "ada@example.org", "Phone": None}


def change(by: str = PERSON, **fields: Any) -> Change:
    return Change("003X", "2026-12-01T09:00:00.000+0000", "c-1", False, None, by,
                  {**READ, **fields})  # fmt: skip


def test_decide_equal_values_are_no_change_however_they_came() -> None:
    decided = decide(SECTION, change(INTEGRATION), HELD, previous=None, unsynced=False,
                     integration_user=INTEGRATION)  # fmt: skip
    assert (decided.status, decided.set) == (InboundStatus.SKIPPED, {})
    assert decided.detail == "no change: the integration user's own write"


def test_decide_salesforce_owned_field_is_written() -> None:
    decided = decide(SECTION, change(Phone="555"), HELD, previous=READ, unsynced=True,
                     integration_user=INTEGRATION)  # fmt: skip
    assert (decided.status, decided.set) == (InboundStatus.APPLIED, {"phone": "555"})


def test_decide_storefront_owned_field_is_never_written() -> None:
    decided = decide(SECTION, change(Email="other@example.org"), HELD, previous=READ,
                     unsynced=False, integration_user=INTEGRATION)  # fmt: skip
    assert (decided.status, decided.set) == (InboundStatus.SKIPPED, {})
    assert decided.detail == "only fields the storefront owns differ: Email"


def test_decide_shared_field_changed_in_salesforce_only_is_written() -> None:
    decided = decide(SECTION, change(FirstName="Ann"), HELD, previous=READ, unsynced=False,
                     integration_user=INTEGRATION)  # fmt: skip
    assert decided.set == {"first_name": "Ann"}


def test_decide_shared_field_changed_on_both_sides_keeps_the_winner_and_records_it() -> None:
    held = {**HELD, "first_name": "Augusta"}
    decided = decide(SECTION, change(FirstName="Ann"), held, previous=READ, unsynced=True,
                     integration_user=INTEGRATION)  # fmt: skip
    assert (decided.status, decided.set) == (InboundStatus.CONFLICT, {})
    assert decided.conflicts == [
        {"field": "FirstName", "column": "first_name", "storefront": "Augusta",
         "salesforce": "Ann", "kept": "storefront", "reason": "changed on both sides"}
    ]  # fmt: skip
    salesforce_wins = dataclasses.replace(SECTION, conflict_winner="salesforce")
    decided = decide(salesforce_wins, change(FirstName="Ann"), held, previous=READ,
                     unsynced=True, integration_user=INTEGRATION)  # fmt: skip
    assert (decided.status, decided.set) == (InboundStatus.CONFLICT, {"first_name": "Ann"})


def test_decide_field_salesforce_did_not_change_leaves_the_storefront_newer_value() -> None:
    held = {**HELD, "first_name": "Augusta"}  # renamed here, not yet delivered
    decided = decide(SECTION, change(Phone="555"), held, previous=READ, unsynced=True,
                     integration_user=INTEGRATION)  # fmt: skip
    assert (decided.status, decided.set, decided.conflicts) == (
        InboundStatus.APPLIED, {"phone": "555"}, []
    )  # fmt: skip


def test_decide_first_read_trusts_a_person_not_the_integration_user() -> None:
    held = {**HELD, "first_name": "Augusta"}
    ours = decide(SECTION, change(INTEGRATION), held, previous=None, unsynced=False,
                  integration_user=INTEGRATION)  # fmt: skip
    assert ours.set == {}
    theirs = decide(SECTION, change(PERSON), held, previous=None, unsynced=False,
                    integration_user=INTEGRATION)  # fmt: skip
    assert theirs.set == {"first_name": "Ada"}


def test_decide_new_row_takes_every_field_even_the_storefront_owned() -> None:
    decided = decide(SECTION, change(Phone="555"), None, previous=None, unsynced=False,
                     integration_user=INTEGRATION)  # fmt: skip
    assert decided.set == {"first_name": "Ada", "email": "ada@example.org", "phone": "555"}


def test_unheld_values_make_a_conflict_naming_field_value_and_limit() -> None:
    section = InboundMapping(
        "organisation", "Account", "Storefront_Account_Id__c", "organisations", "org:",
        "storefront",
        (InboundField("Credit_Limit__c", "credit_limit", Owner.SALESFORCE),
         InboundField("Price_Tier__c", "price_tier", Owner.SALESFORCE)),
    )  # fmt: skip
    record = Change("001X", "2026-12-01T09:00:00.000+0000", "org:a", False, None, PERSON,
                    {"Credit_Limit__c": -500.0, "Price_Tier__c": "Gold"})  # fmt: skip
    held = {"credit_limit": Decimal("100.00"), "price_tier": None}
    decided = decide(section, record, held, previous=None, unsynced=False,
                     integration_user=INTEGRATION)  # fmt: skip
    why = "check organisations_credit_limit_check: CHECK (credit_limit >= 0)"
    refused = unheld(section, decided, held, {"credit_limit": why}, None)
    assert (refused.status, refused.set) == (InboundStatus.CONFLICT, {"price_tier": "Gold"})
    reason = f"Credit_Limit__c -500 does not fit organisations.credit_limit: {why}"
    assert refused.detail == reason
    assert refused.conflicts == [
        {"field": "Credit_Limit__c", "column": "credit_limit", "storefront": "100.00",
         "salesforce": "-500", "kept": "storefront", "reason": reason}
    ]  # fmt: skip
    whole = unheld(section, decided, held, {}, "a rule over two columns")
    assert (whole.set, whole.conflicts) == ({}, [])
    assert whole.detail == "the change does not fit organisations: a rule over two columns"
