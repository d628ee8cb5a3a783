"""Drift: the loaded mapping against describe results shaped as Salesforce returns them."""

from __future__ import annotations

import asyncio
from typing import Any

from dispatcher.mapping import Mappings
from dispatcher.mapping.drift import (
    DriftFinding,
    DriftKind,
    check_drift,
    describe_from_schema,
    drift,
)


def describes(shipped: Mappings) -> dict[str, dict[str, Any]]:
    return describe_from_schema(shipped.destinations["salesforce"].schema)


def field(describe: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in describe["fields"] if f["name"] == name)


def findings(
    shipped: Mappings, live: dict[str, dict[str, Any]]
) -> list[tuple[str, str, DriftKind]]:
    found = drift(shipped.destinations["salesforce"], live)
    return [(f.object_name, f.field, f.kind) for f in found]


def test_drift_finds_nothing_against_the_declared_schema(shipped: Mappings) -> None:
    assert findings(shipped, describes(shipped)) == []


def test_drift_reports_a_renamed_field_and_guesses_the_new_name(shipped: Mappings) -> None:
    live = describes(shipped)
    field(live["Order"], "Payment_Method__c")["name"] = "Payment_Type__c"
    (finding,) = drift(shipped.destinations["salesforce"], live)
    assert (finding.object_name, finding.field, finding.kind) == (
        "Order",
        "Payment_Method__c",
        DriftKind.MISSING_FIELD,
    )
    assert "renamed to Payment_Type__c?" in finding.detail


def test_drift_reports_removed_and_inactive_picklist_values(shipped: Mappings) -> None:
    live = describes(shipped)
    method = field(live["Order"], "Payment_Method__c")
    method["picklistValues"] = [p for p in method["picklistValues"] if p["value"] != "PayPal"]
    consent = field(live["Contact"], "Marketing_Consent__c")
    for entry in consent["picklistValues"]:
        entry["active"] = entry["value"] != "Not Asked"
    assert findings(shipped, live) == [
        ("Contact", "Marketing_Consent__c", DriftKind.PICKLIST_VALUE_INACTIVE),
        ("Order", "Payment_Method__c", DriftKind.PICKLIST_VALUE_GONE),
    ]


def test_drift_reports_permissions_type_and_length(shipped: Mappings) -> None:
    live = describes(shipped)
    field(live["Contact"], "LastName")["length"] = 40
    field(live["Contact"], "Email")["updateable"] = False
    field(live["Order"], "Status")["createable"] = False
    field(live["OrderItem"], "Quantity")["type"] = "string"
    assert sorted(findings(shipped, live)) == [
        ("Contact", "Email", DriftKind.NOT_UPDATEABLE),
        ("Contact", "LastName", DriftKind.LENGTH_SHRANK),
        ("Order", "Status", DriftKind.NOT_CREATEABLE),
        ("OrderItem", "Quantity", DriftKind.TYPE_CHANGED),
    ]


def test_drift_ignores_updateable_on_fields_only_created(shipped: Mappings) -> None:
    live = describes(shipped)
    field(live["Account"], "Type")["updateable"] = False  # owned by Salesforce: create only
    assert findings(shipped, live) == []


def test_drift_reports_a_missing_object_and_a_newly_required_field(shipped: Mappings) -> None:
    live = describes(shipped)
    del live["Course_Enrollment__c"]
    field(live["Account"], "Phone")["nillable"] = False
    assert findings(shipped, live) == [
        ("Account", "Phone", DriftKind.REQUIRED_UNMAPPED),
        ("Course_Enrollment__c", "", DriftKind.MISSING_OBJECT),
    ]


def test_check_drift_fetches_each_mapped_object_once(shipped: Mappings) -> None:
    live = describes(shipped)
    live["Contact"]["fields"] = [f for f in live["Contact"]["fields"] if f["name"] != "Email"]
    asked: list[str] = []

    async def fetch(name: str) -> dict[str, Any] | None:
        asked.append(name)
        return live.get(name)

    found = asyncio.run(check_drift(shipped.destinations["salesforce"], fetch))
    assert sorted(asked) == sorted(set(asked))
    assert "PricebookEntry" not in asked
    assert found == (
        DriftFinding(
            "Contact", "Email", DriftKind.MISSING_FIELD, "the field no longer exists", ("contact",)
        ),
    )


def test_drift_ignores_values_an_unrestricted_picklist_never_listed(shipped: Mappings) -> None:
    """A standard org's Account.Type lists neither "Customer" nor "Household"; the picklist is
    unrestricted (describe ``restrictedPicklist`` false), so Salesforce saves them anyway."""
    live = describes(shipped)
    account_type = field(live["Account"], "Type")
    assert account_type["restrictedPicklist"] is False
    account_type["picklistValues"] = [
        {"value": v, "label": v, "active": True, "defaultValue": False, "validFor": None}
        for v in ("Prospect", "Customer - Direct", "Customer - Channel", "Other")
    ]
    assert findings(shipped, live) == []


def test_drift_blocks_the_sections_a_lost_flag_makes_impossible(shipped: Mappings) -> None:
    live = describes(shipped)
    field(live["Order"], "Amount_Paid__c")["updateable"] = False
    field(live["Order"], "Pricebook2Id")["nillable"] = False  # now required on create
    found = {(f.field, f.kind): f.blocks for f in drift(shipped.destinations["salesforce"], live)}
    assert found == {
        ("Amount_Paid__c", DriftKind.NOT_UPDATEABLE): ("order_cancellation", "order_progress"),
    }  # the update-only sections never create an Order: Pricebook2Id is no finding there


def test_drift_missing_field_blocks_every_section_writing_it(shipped: Mappings) -> None:
    live = describes(shipped)
    live["Contact"]["fields"] = [f for f in live["Contact"]["fields"] if f["name"] != "Email"]
    (finding,) = drift(shipped.destinations["salesforce"], live)
    assert (finding.kind, finding.blocks) == (DriftKind.MISSING_FIELD, ("contact",))
    assert str(finding).endswith("(blocks contact)")
