"""One organisation, one identity: the Salesforce Account key and the Thinkific group key come
from the same function, so the two destinations agree on which names are one organisation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dispatcher.core.destination import Message
from dispatcher.destinations.thinkific.request import enrollment_request
from dispatcher.mapping import Mappings, organisation_key
from tests.unit.mapping.payloads import (
    catalog_lookup,
    enrollment_requested_factory,
    order_placed_factory,
)

SPELLINGS = ["Northgate Clinic", "northgate clinic", "  NORTHGATE Clinic ", "Northgate Clinic\t"]


def _account_key(shipped: Mappings, organisation: str) -> str:
    payload = order_placed_factory()
    payload["customer"]["organisation"] = organisation
    message = shipped.apply("salesforce", "order.placed", payload, catalog_lookup)
    return str(message.records[0].external_id)


def _group_key(shipped: Mappings, organisation: str) -> str | None:
    payload = enrollment_requested_factory(organisation=organisation)
    message = Message(
        id=1, event_type="enrollment.requested", ordering_key=None, idempotency_key="k",
        correlation_id=None, payload=payload, attempt=1, created_at=datetime.now(UTC),
    )  # fmt: skip
    return enrollment_request(message, shipped, "thinkific").group_key


def test_organisation_key_folds_case_and_trims() -> None:
    assert {organisation_key(name) for name in SPELLINGS} == {"northgate clinic"}
    assert organisation_key("Harbour Practice") != organisation_key("Northgate Clinic")


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_organisation_account_and_group_share_the_key(shipped: Mappings, spelling: str) -> None:
    assert _account_key(shipped, spelling) == "org:" + organisation_key(spelling)
    assert _group_key(shipped, spelling) == organisation_key(spelling)


def test_organisation_spellings_are_one_account_and_one_group(shipped: Mappings) -> None:
    assert len({_account_key(shipped, name) for name in SPELLINGS}) == 1
    assert len({_group_key(shipped, name) for name in SPELLINGS}) == 1


def test_organisation_group_keeps_the_buyers_spelling_for_its_name(shipped: Mappings) -> None:
    payload = enrollment_requested_factory(organisation="  Northgate Clinic ")
    message = Message(
        id=1, event_type="enrollment.requested", ordering_key=None, idempotency_key="k",
        correlation_id=None, payload=payload, attempt=1, created_at=datetime.now(UTC),
    )  # fmt: skip
    assert enrollment_request(message, shipped, "thinkific").group == "Northgate Clinic"
