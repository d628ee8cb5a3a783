"""Before-write validation: a payload that cannot make valid records is a MappingError."""

from __future__ import annotations

from typing import Any

import pytest

from dispatcher.mapping import MappingError, Mappings
from tests.unit.mapping.payloads import (
    catalog_lookup,
    event_registered_factory,
    line_factory,
    order_placed_factory,
)


def error_for(shipped: Mappings, event: str, payload: dict[str, Any]) -> MappingError:
    with pytest.raises(MappingError) as caught:
        shipped.apply("salesforce", event, payload, catalog_lookup)
    return caught.value


def test_validate_refuses_a_negative_total(shipped: Mappings) -> None:
    error = error_for(shipped, "order.placed", order_placed_factory(total="-5.00"))
    assert (error.object_name, error.field, error.record) == ("Order", "Order_Total__c", "SO-1001")
    assert "the order total is negative" in error.problem


def test_validate_refuses_a_quantity_of_zero(shipped: Mappings) -> None:
    payload = order_placed_factory()
    payload["lines"][1] = line_factory(2, quantity=0)
    error = error_for(shipped, "order.placed", payload)
    assert (error.object_name, error.field, error.record) == ("OrderItem", "Quantity", "SO-1001-2")
    assert str(error).startswith("OrderItem SO-1001-2.Quantity: the quantity is zero or less")


def test_validate_refuses_a_missing_required_field(shipped: Mappings) -> None:
    payload = event_registered_factory()
    payload["customer"]["last_name"] = None
    error = error_for(shipped, "event.registered", payload)
    assert (error.object_name, error.field) == ("Contact", "LastName")
    assert "required" in error.problem


def test_validate_refuses_an_unmapped_picklist_value(shipped: Mappings) -> None:
    error = error_for(shipped, "order.placed", order_placed_factory(payment_method="cheque"))
    assert (error.object_name, error.field) == ("Order", "Payment_Method__c")
    assert "'cheque' is not in value map 'payment_method'" in error.problem


def test_validate_refuses_a_value_longer_than_the_field(shipped: Mappings) -> None:
    error = error_for(shipped, "order.placed", order_placed_factory(number="SO-" + "9" * 40))
    assert (error.object_name, error.field) == ("Order", "Storefront_Order_Number__c")
    assert "the field holds 40" in error.problem


def test_validate_refuses_a_bad_amount_and_an_unknown_sku(shipped: Mappings) -> None:
    assert (
        error_for(shipped, "order.placed", order_placed_factory(tax="ten")).field == "Tax_Amount__c"
    )
    payload = order_placed_factory()
    payload["lines"][0]["sku"] = "XX-999"
    error = error_for(shipped, "order.placed", payload)
    assert (error.object_name, error.field) == ("OrderItem", "PricebookEntryId")


def test_validate_refuses_an_unmapped_event_type_and_a_malformed_payload(shipped: Mappings) -> None:
    assert "no mapping for this event type" in error_for(shipped, "order.teleported", {}).problem
    payload = order_placed_factory()
    payload["lines"] = "not a list"
    assert "list of objects" in error_for(shipped, "order.placed", payload).problem
    payload = order_placed_factory()
    payload["order"] = "SO-1"
    assert "shape" in error_for(shipped, "order.placed", payload).problem
