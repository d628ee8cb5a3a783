"""Every request the Thinkific destination builds is inside the vendor's contract: no ``null``
for a string property, date-times and numbers in their formats, required properties present,
only documented properties and query parameters (``contract.yaml``, Thinkific's OpenAPI)."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx

from dispatcher.core.destination import Outcome, Result
from sandboxes.thinkific import API_BASE
from sandboxes.thinkific.contract import (
    body_problems,
    operation,
    query_problems,
    resolve,
)
from tests.conformance.test_thinkific_site import (
    KEY_ENV,
    SITE_URL,
    Site,
    customer_factory,
    deliver_one,
    enrollment_payload_factory,
    message_factory,
    open_site,
)

LIFETIME = None  # an ``expiry_date`` of null in the payload: the course never expires


@dataclass
class Recorder:
    """Each request the destination sends, checked against the contract as it leaves."""

    seen: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    async def __call__(self, request: httpx.Request) -> None:
        path = request.url.path.removeprefix(API_BASE)
        op = operation(request.method, path)
        where = f"{request.method} {path}"
        if op is None:
            self.problems.append(f"{where}: not an operation of the contract")
            return
        self.seen.add(f"{request.method} {op.path}")
        query = dict(parse_qsl(request.url.query.decode()))
        undocumented = set(query) - set(op.query_parameters())
        if undocumented:
            self.problems.append(f"{where}: undocumented query {sorted(undocumented)}")
        if query_problems(op, query):
            self.problems.append(f"{where}: query {query_problems(op, query)}")
        if request.content:
            self._check_body(where, op, json.loads(request.content))

    def _check_body(self, where: str, op: Any, body: Any) -> None:
        found = body_problems(op, body)
        if found:
            self.problems.append(f"{where}: body {found} in {body}")
        schema = resolve(op.body_schema or {})
        unnamed = set(body) - set(schema.get("properties", {}))
        if unnamed:
            self.problems.append(f"{where}: properties the schema does not name {unnamed}")


def _recorded(site: Site) -> Recorder:
    recorder = Recorder()
    site.http.event_hooks["request"].append(recorder)
    return recorder


async def test_thinkific_buyer_without_organisation_is_created_without_company(
    db_url: str,
) -> None:
    """``CreateUserRequest.company`` is a string: a buyer without an organisation has none to
    send, so it is left out (it used to go out as null and the site refused the user)."""
    async with open_site(db_url) as site:
        recorder = _recorded(site)
        outcome = await deliver_one(site, message_factory(enrollment_payload_factory()))
        calls = site.calls()
    assert outcome.result is Result.DELIVERED
    assert recorder.problems == []
    assert calls == {"POST /users": 1, "POST /enrollments": 1}


async def test_thinkific_lifetime_renewal_of_a_dated_enrollment_sends_no_null(
    db_url: str,
) -> None:
    """``UpdateEnrollmentRequest.expiry_date`` is a date-time string; a renewal that never
    expires over a dated enrollment writes the latest date-time, read back as "never"."""
    customer = customer_factory()
    dated = enrollment_payload_factory(customer)
    lifetime = enrollment_payload_factory(customer, expiry_date=LIFETIME)
    async with open_site(db_url) as site:
        recorder = _recorded(site)
        await deliver_one(site, message_factory(dated))
        renewed = await deliver_one(site, message_factory(lifetime, message_id=2))
        (pair,) = site.enrollments()
    assert renewed.result is Result.DELIVERED
    assert recorder.problems == []
    (enrollment,) = pair["enrollments"]
    assert enrollment["expiry_date"] == "9999-12-31T23:59:59Z"
    assert enrollment["expired"] is False


async def test_thinkific_lifetime_course_bought_again_leaves_the_expiry_out(
    db_url: str,
) -> None:
    customer = customer_factory()
    async with open_site(db_url) as site:
        recorder = _recorded(site)
        first = enrollment_payload_factory(customer, expiry_date=LIFETIME)
        await deliver_one(site, message_factory(first))
        second = enrollment_payload_factory(customer, expiry_date=LIFETIME)
        again = await deliver_one(site, message_factory(second, message_id=2))
        (pair,) = site.enrollments()
    assert again.result is Result.DELIVERED
    assert recorder.problems == []
    assert pair["enrollments"][0]["expiry_date"] is None


Scenario = Callable[[Site, int], Awaitable[list[Outcome]]]


async def _new_buyer(site: Site, n: int) -> list[Outcome]:
    payload = enrollment_payload_factory(expiry_date=LIFETIME)
    return [await deliver_one(site, message_factory(payload, message_id=n))]


async def _organisation_buyers(site: Site, n: int) -> list[Outcome]:
    """Two buyers of one organisation spelt two ways: one group, found by its key."""
    outcomes = []
    for step, spelling in enumerate(("Northgate Clinic", " northgate CLINIC")):
        payload = enrollment_payload_factory(customer_factory(organisation=spelling))
        outcomes.append(await deliver_one(site, message_factory(payload, message_id=n + step)))
    return outcomes


async def _buyer_without_first_name(site: Site, n: int) -> list[Outcome]:
    customer = {**customer_factory(), "first_name": None}
    payload = enrollment_payload_factory(customer)
    return [await deliver_one(site, message_factory(payload, message_id=n))]


async def _renewals(site: Site, n: int) -> list[Outcome]:
    customer = customer_factory()
    outcomes = []
    for step, expiry in enumerate(("2027-01-01T00:00:00+00:00", LIFETIME, LIFETIME)):
        payload = enrollment_payload_factory(customer, expiry_date=expiry)
        outcomes.append(await deliver_one(site, message_factory(payload, message_id=n + step)))
    return outcomes


async def _user_made_elsewhere_then_retried(site: Site, n: int) -> list[Outcome]:
    customer = customer_factory()
    await site.http.post(
        f"{SITE_URL}{API_BASE}/users",
        json={"first_name": "Ada", "last_name": "L", "email": customer["email"]},
        headers={"X-Auth-API-Key": os.environ[KEY_ENV], "X-Auth-Subdomain": "sandbox"},
    )
    payload = enrollment_payload_factory(customer)
    return [await deliver_one(site, message_factory(payload, message_id=n, attempt=2))]


async def _revocation_and_profile(site: Site, n: int) -> list[Outcome]:
    customer = customer_factory()
    payload = enrollment_payload_factory(customer)
    revoked = {**payload, "reason": "refunded"}
    who = {"id": customer["id"], "email": customer["email"], "last_name": "Lovelace"}
    change = {"customer": who, "changes": {"first_name": "Augusta"}, "version": 2}
    return [
        await deliver_one(site, message_factory(payload, message_id=n)),
        await deliver_one(
            site, message_factory(revoked, message_id=n + 1, event_type="enrollment.revoked")
        ),
        await deliver_one(
            site, message_factory(change, message_id=n + 2, event_type="customer.updated")
        ),
    ]


SCENARIOS: list[Scenario] = [
    _new_buyer,
    _organisation_buyers,
    _buyer_without_first_name,
    _renewals,
    _user_made_elsewhere_then_retried,
    _revocation_and_profile,
]


async def test_thinkific_every_request_the_client_builds_is_inside_the_contract(
    db_url: str,
) -> None:
    """Every scenario the destination knows, in a seeded random order, twice over: each body
    and query checked as it leaves, and every operation the client calls seen at least once."""
    order = SCENARIOS * 2
    random.Random(14).shuffle(order)
    async with open_site(db_url) as site:
        recorder = _recorded(site)
        outcomes = [o for n, scenario in enumerate(order, 1) for o in await scenario(site, n * 10)]
    assert [o for o in outcomes if o.result is not Result.DELIVERED] == []
    assert recorder.problems == []
    assert recorder.seen >= {
        "GET /users",
        "POST /users",
        "PUT /users/{id}",
        "GET /enrollments",
        "POST /enrollments",
        "PUT /enrollments/{id}",
        "GET /groups",
        "POST /groups",
        "POST /group_users",
    }
