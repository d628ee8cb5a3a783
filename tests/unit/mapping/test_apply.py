"""The shipped mappings applied to payloads shaped as docs/events.md describes."""

from __future__ import annotations

from decimal import Decimal

from dispatcher.mapping import Mappings, Operation
from tests.unit.mapping.payloads import (
    catalog_lookup,
    enrollment_requested_factory,
    event_registered_factory,
    line_factory,
    order_placed_factory,
)


def test_apply_order_placed_yields_records_in_dependency_order(shipped: Mappings) -> None:
    message = shipped.apply("salesforce", "order.placed", order_placed_factory(), catalog_lookup)
    assert [(name, len(records)) for name, records in message.by_object()] == [
        ("Account", 1),
        ("Contact", 1),
        ("Order", 1),
        ("OrderItem", 3),
        ("Event_Registration__c", 1),
        ("Course_Enrollment__c", 1),
    ]
    assert message.version == shipped.destinations["salesforce"].version


def test_apply_order_placed_maps_values_and_parent_references(shipped: Mappings) -> None:
    message = shipped.apply("salesforce", "order.placed", order_placed_factory(), catalog_lookup)
    account, contact, order, item, *_ = message.records
    assert account.external_id == "org:analytical clinic"
    assert account.fields["Name"] == "Analytical Clinic"
    assert contact.fields["Email"] == "ada@example.org"
    assert contact.fields["Account"] == {"Storefront_Account_Id__c": "org:analytical clinic"}
    assert contact.fields["Preferred_Language__c"] == "English"
    assert order.fields["EffectiveDate"] == "2026-11-25"
    assert order.fields["Status"] == "Draft"
    assert order.fields["Payment_Method__c"] == "Card"
    assert order.fields["Order_Total__c"] == Decimal("198.00")
    assert order.fields["Pricebook2Id"] == "01s000000000STD"
    assert item.fields["Order"] == {"Storefront_Order_Number__c": "SO-1001"}
    assert item.fields["PricebookEntryId"] == "01u000000000001"
    assert item.body()["UnitPrice"] == 30.0


def test_apply_private_buyer_gets_a_household_account(shipped: Mappings) -> None:
    payload = order_placed_factory()
    payload["customer"]["organisation"] = None
    account, contact, *_ = shipped.apply(
        "salesforce", "order.placed", payload, catalog_lookup
    ).records
    assert (account.section, account.external_id) == ("household_account", "c-42")
    assert account.fields["Name"] == "Ada Lovelace"
    assert account.fields["Type"] == "Household"
    assert contact.fields["Account"] == {"Storefront_Account_Id__c": "c-42"}


def test_apply_free_order_carries_no_payment_method(shipped: Mappings) -> None:
    payload = order_placed_factory(total="0.00", tax="0.00", payment_method=None)
    payload["lines"] = [line_factory(1, "free_event", unit_price="0.00", tax="0.00")]
    records = shipped.apply("salesforce", "order.placed", payload, catalog_lookup).records
    order = next(r for r in records if r.object_name == "Order")
    assert "Payment_Method__c" not in order.fields
    registration = next(r for r in records if r.object_name == "Event_Registration__c")
    assert registration.fields["Registration_Type__c"] == "Free"


def test_apply_consent_follows_the_locale_variant(shipped: Mappings) -> None:
    payload = event_registered_factory()
    payload["customer"]["locale"] = "de_DE"
    contact = shipped.apply("salesforce", "event.registered", payload).records[1]
    assert contact.fields["Marketing_Consent__c"] == "Not Asked"
    assert contact.fields["Preferred_Language__c"] == "German"


def test_apply_event_registered_writes_the_registration(shipped: Mappings) -> None:
    message = shipped.apply("salesforce", "event.registered", event_registered_factory())
    registration = message.records[-1]
    assert registration.object_name == "Event_Registration__c"
    assert registration.body() == {
        "Storefront_Registration_Id__c": "SO-1001-2",
        "Name": "Wound care workshop, Leeds",
        "Contact__r": {"Storefront_Customer_Id__c": "c-42"},
        "Order__r": {"Storefront_Order_Number__c": "SO-1001"},
        "Event_Session_Id__c": "7",
        "Event_Name__c": "Wound care workshop, Leeds",
        "Starts_At__c": "2027-01-14T09:00:00.000Z",
        "Seats__c": 1,
        "Registration_Type__c": "Paid",
        "Status__c": "Registered",
        "Amount__c": 150.0,
    }


def test_apply_enrollment_requested_for_thinkific(shipped: Mappings) -> None:
    message = shipped.apply("thinkific", "enrollment.requested", enrollment_requested_factory())
    assert [r.object_name for r in message.records] == [
        "group",
        "user",
        "group_user",
        "enrollment",
    ]
    group, user, membership, enrollment = (r.body() for r in message.records)
    assert group == {"name": "Analytical Clinic"}
    assert user == {
        "email": "ada@example.org",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company": "Analytical Clinic",
    }
    assert membership["user"] == {"email": "ada@example.org"}
    assert enrollment == {
        "course_id": 1001,
        "user": {"email": "ada@example.org"},
        "activated_at": "2026-11-25T10:00:00.000Z",
        "expiry_date": "2027-11-25T10:00:00.000Z",
    }


def test_apply_private_learner_has_no_group_and_a_fallback_first_name(shipped: Mappings) -> None:
    payload = enrollment_requested_factory(organisation=None, expiry_date=None)
    payload["customer"]["first_name"] = ""
    records = shipped.apply("thinkific", "enrollment.requested", payload).records
    assert [r.object_name for r in records] == ["user", "enrollment"]
    assert records[0].fields["first_name"] == "Ada"
    assert records[1].fields["expiry_date"] is None


def test_apply_first_name_from_a_shouted_email_is_not_shouted(shipped: Mappings) -> None:
    payload = enrollment_requested_factory(organisation=None)
    payload["customer"].update(first_name=None, email=" ANON.TURING.A11@EXAMPLE.ORG")
    (user, *_) = shipped.apply("thinkific", "enrollment.requested", payload).records
    assert user.fields["first_name"] == "Anon.Turing.A11"


def test_field_sets_leave_destination_owned_fields_out_of_updates(shipped: Mappings) -> None:
    salesforce = shipped.destinations["salesforce"]
    create = salesforce.field_set("Order", Operation.CREATE)
    update = salesforce.field_set("Order", Operation.UPDATE)
    assert {"Status", "Payment_Method__c", "Storefront_Order_Number__c"} <= create
    assert "Payment_Method__c" in update
    assert "Status" in update  # set again by the after-sale events (order_progress)
    assert "Type" in salesforce.field_set("Account", Operation.CREATE)
    assert "Type" not in salesforce.field_set("Account", Operation.UPDATE)  # owner: salesforce
    item_update = salesforce.field_set("OrderItem", Operation.UPDATE)
    assert "OrderId" not in item_update  # not updateable in the schema
    assert "Product2Id" not in item_update  # derived from the PricebookEntry, never updated
    assert "Quantity" not in item_update  # create_only: products lock once the order activates
    assert "Quantity" in salesforce.field_set("OrderItem", Operation.CREATE)


def test_body_for_update_drops_owned_fields_and_null_shared_ones(shipped: Mappings) -> None:
    payload = order_placed_factory()
    payload["customer"]["first_name"] = None
    records = shipped.apply("salesforce", "order.placed", payload, catalog_lookup).records
    contact = records[1]
    assert contact.body(Operation.CREATE)["HasOptedOutOfEmail"] is False
    assert "FirstName" not in contact.body(Operation.CREATE)  # a create never sends a null
    update = contact.body(Operation.UPDATE)
    assert "HasOptedOutOfEmail" not in update
    assert "FirstName" not in update
    assert update["LastName"] == "Lovelace"
