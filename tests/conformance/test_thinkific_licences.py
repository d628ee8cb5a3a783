"""Organisation licences: the buyer enrolled, the organisation a group, seats assigned later."""

from __future__ import annotations

import os
import uuid
from typing import Any

from dispatcher.core.destination import Result
from sandboxes.thinkific import API_BASE
from tests.conformance.test_thinkific_site import (
    COURSE,
    KEY_ENV,
    SITE_URL,
    Site,
    customer_factory,
    deliver_one,
    enrollment_payload_factory,
    message_factory,
    open_site,
)


def seat_payload_factory(organisation: str, email: str | None = None) -> dict[str, Any]:
    """A ``seat.assigned`` payload as docs/thinkific.md shows it."""
    return {
        "seat_id": f"SO-1001-3:{uuid.uuid4().hex[:4]}",
        "order_number": "SO-1001",
        "enrollment_id": "SO-1001-3",
        "organisation": organisation,
        "course_id": COURSE,
        "seat_holder": {
            "email": email or f"{uuid.uuid4().hex[:8]}@clinic.example",
            "first_name": "Grace",
            "last_name": "Hopper",
        },
        "product": {"sku": "DL-301", "name": "Infection control online"},
        "activated_at": "2026-11-26T09:00:00+00:00",
        "expiry_date": "2027-11-25T10:00:00+00:00",
    }


def members(site: Site) -> set[tuple[str, str]]:
    store = site.state.store
    return {
        (store.groups[group].name, store.users[user].email) for group, user in store.memberships
    }


async def test_thinkific_licence_makes_the_organisation_a_group_with_the_buyer(
    db_url: str,
) -> None:
    buyer = customer_factory(organisation="Northgate Clinic")
    async with open_site(db_url) as site:
        licence = enrollment_payload_factory(buyer, seats=25)
        outcome = await deliver_one(site, message_factory(licence))
        calls = site.calls()
        assert members(site) == {("Northgate Clinic", buyer["email"])}
        (pair,) = site.enrollments()
    assert outcome.result is Result.DELIVERED
    assert pair["user_email"] == buyer["email"]
    assert calls["POST /groups"] == 1
    assert calls["POST /group_users"] == 2  # the first finds no group of that name


async def test_thinkific_seat_assigned_enrolls_the_holder_into_the_group(db_url: str) -> None:
    buyer = customer_factory(organisation="Northgate Clinic")
    first, second = (seat_payload_factory("Northgate Clinic") for _ in range(2))
    async with open_site(db_url) as site:
        await deliver_one(site, message_factory(enrollment_payload_factory(buyer, seats=25)))
        before = site.calls()
        outcomes = [
            await deliver_one(site, message_factory(p, message_id=n, event_type="seat.assigned"))
            for n, p in ((2, first), (3, second))
        ]
        after = site.calls()
        holders = {pair["user_email"] for pair in site.enrollments()}
        groups = members(site)
    assert {o.result for o in outcomes} == {Result.DELIVERED}
    seated = {first["seat_holder"]["email"], second["seat_holder"]["email"]}
    assert holders == {buyer["email"], *seated}
    assert ("Northgate Clinic", second["seat_holder"]["email"]) in groups
    # each seat: the user, the membership, the enrollment; the group already exists
    assert sum(after.values()) - sum(before.values()) == 6
    assert after["POST /groups"] == before["POST /groups"] == 1


async def test_thinkific_seat_redelivered_changes_nothing(db_url: str) -> None:
    seat = seat_payload_factory("Harbour Practice")
    async with open_site(db_url) as site:
        message = message_factory(seat, event_type="seat.assigned")
        first = await deliver_one(site, message)
        before = site.calls()
        retried = message_factory(seat, attempt=2, event_type="seat.assigned")
        again = await deliver_one(site, retried)
        after = site.calls()
    assert again.record_id == first.record_id
    assert after == before


async def test_thinkific_seat_without_holder_is_dead_with_the_reason(db_url: str) -> None:
    seat = {**seat_payload_factory("Harbour Practice"), "seat_holder": None}
    async with open_site(db_url) as site:
        outcome = await deliver_one(site, message_factory(seat, event_type="seat.assigned"))
        calls = site.calls()
    assert (outcome.result, outcome.error_code) == (Result.DEAD, "MAPPING_ERROR")
    assert "seat holder" in (outcome.error_message or "")
    assert calls == {}


async def test_thinkific_organisation_spelt_two_ways_is_one_group(db_url: str) -> None:
    """``Northgate Clinic`` and `` northgate clinic`` are one Salesforce Account (its key folds
    case) and so one Thinkific group: the second buyer joins the group the first made."""
    first = customer_factory(organisation="Northgate Clinic")
    second = customer_factory(organisation=" northgate clinic")
    async with open_site(db_url) as site:
        outcomes = [
            await deliver_one(site, message_factory(enrollment_payload_factory(c), message_id=n))
            for n, c in ((1, first), (2, second))
        ]
        groups = {group.name for group in site.state.store.groups.values()}
        joined = members(site)
    assert [(o.result, o.error_message) for o in outcomes] == [(Result.DELIVERED, None)] * 2
    assert groups == {"Northgate Clinic"}
    assert joined == {("Northgate Clinic", first["email"]), ("Northgate Clinic", second["email"])}


async def test_thinkific_organisation_made_on_the_site_in_another_case_is_joined(
    db_url: str,
) -> None:
    """A group an administrator made as ``NORTHGATE CLINIC`` is the organisation's group."""
    buyer = customer_factory(organisation="Northgate Clinic")
    async with open_site(db_url) as site:
        made = await site.http.post(
            f"{SITE_URL}{API_BASE}/groups",
            json={"name": "NORTHGATE CLINIC"},
            headers={"X-Auth-API-Key": os.environ[KEY_ENV], "X-Auth-Subdomain": "sandbox"},
        )
        outcome = await deliver_one(site, message_factory(enrollment_payload_factory(buyer)))
        calls = site.calls()
        joined = members(site)
    assert made.status_code == 200
    assert outcome.result is Result.DELIVERED
    assert joined == {("NORTHGATE CLINIC", buyer["email"])}
    assert calls["POST /groups"] == 1  # the administrator's only
