"""The Salesforce destination when the org misbehaves: expired sessions, 503, locks, limits."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from dispatcher.core.destination import Result
from sandboxes.salesforce import FaultKind, SandboxSettings
from sandboxes.salesforce.settings import utc_now
from tests.conformance.salesforce_org import Org, org_with, place


async def test_salesforce_expired_token_is_renewed_once_and_delivery_succeeds(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    place(shop, "SO-1")
    assert [o.result for o in await org.deliver_due()] == [Result.DELIVERED]
    org.sandbox.revoke_tokens()
    place(shop, "SO-2")
    assert [o.result for o in await org.deliver_due()] == [Result.DELIVERED]
    assert org.sandbox.calls["oauth2.token"] == 2
    assert org.destination.api.auth.tokens_fetched == 2


@pytest.mark.parametrize(
    ("kind", "options", "code"),
    [
        (FaultKind.MAINTENANCE_PAGE, {"status": 500}, "HTTP_500"),
        (FaultKind.MAINTENANCE_PAGE, {"status": 503}, "HTTP_503"),
        (FaultKind.SERVER_UNAVAILABLE, {}, "SERVER_UNAVAILABLE"),
        (FaultKind.DROP_CONNECTION, {}, "CONNECTIONDROPPED"),
    ],
)
async def test_salesforce_token_endpoint_failure_is_an_outage_not_a_dead_message(
    org: Org, shop: psycopg.Connection[Any], kind: FaultKind, options: dict[str, Any], code: str
) -> None:
    place(shop, "SO-TOKEN")
    org.sandbox.faults.inject(kind, remaining=1, path="/services/oauth2/token", **options)
    (first,) = await org.deliver_due()
    assert (first.result, first.error_code) == (Result.RETRY, code)
    assert "<html" not in (first.error_message or "")
    shop.execute("UPDATE outbox.messages SET next_attempt_at = now()")
    shop.commit()
    assert [o.result for o in await org.deliver_due()] == [Result.DELIVERED]


async def test_salesforce_503_is_retried_then_delivered(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    place(shop, "SO-3")
    org.sandbox.faults.inject(FaultKind.SERVER_UNAVAILABLE, remaining=1, path="/services/data")
    (first,) = await org.deliver_due()
    assert (first.result, first.http_status, first.error_code) == (
        Result.RETRY, 503, "SERVER_UNAVAILABLE",
    )  # fmt: skip
    shop.execute("UPDATE outbox.messages SET next_attempt_at = now()")
    shop.commit()
    (second,) = await org.deliver_due()
    assert second.result is Result.DELIVERED
    row = shop.execute(
        "SELECT status::text, attempts FROM outbox.messages WHERE destination = 'salesforce'"
    ).fetchone()
    assert row == ("delivered", 2)


async def test_salesforce_unable_to_lock_row_on_one_record_retries_only_its_message(
    org: Org, shop: psycopg.Connection[Any]
) -> None:
    place(shop, "SO-4")
    place(shop, "SO-5")
    org.sandbox.faults.inject(FaultKind.UNABLE_TO_LOCK_ROW, per_record=True, remaining=1)
    outcomes = await org.deliver_due()
    by_result = {o.result: o for o in outcomes}
    assert set(by_result) == {Result.RETRY, Result.DELIVERED}
    assert by_result[Result.RETRY].error_code == "UNABLE_TO_LOCK_ROW"
    shop.execute("UPDATE outbox.messages SET next_attempt_at = now()")
    shop.commit()
    assert [o.result for o in await org.deliver_due()] == [Result.DELIVERED]


async def test_salesforce_daily_limit_pauses_instead_of_failing(
    shop: psycopg.Connection[Any], pool: AsyncConnectionPool[Any]
) -> None:
    async with org_with(pool, SandboxSettings(daily_api_limit=1, clock=utc_now)) as org:
        place(shop, "SO-6")
        assert [o.result for o in await org.deliver_due()] == [Result.DELIVERED]
        place(shop, "SO-7")
        (limited,) = await org.deliver_due()
    assert (limited.result, limited.http_status, limited.error_code) == (
        Result.RATE_LIMITED, 403, "REQUEST_LIMIT_EXCEEDED",
    )  # fmt: skip
    assert limited.retry_after is not None
    assert 0 < limited.retry_after <= 86400
    row = shop.execute(
        "SELECT status::text, attempts FROM outbox.messages"
        " WHERE idempotency_key = 'order.placed:SO-7'"
    ).fetchone()
    assert row == ("retrying", 0)  # a wait is not an attempt


async def test_salesforce_daily_limit_pause_can_be_configured(
    shop: psycopg.Connection[Any], pool: AsyncConnectionPool[Any]
) -> None:
    async with org_with(
        pool, SandboxSettings(daily_api_limit=0, clock=utc_now), daily_limit_pause_seconds=900
    ) as org:
        place(shop, "SO-8")
        (limited,) = await org.deliver_due()
    assert (limited.result, limited.retry_after) == (Result.RATE_LIMITED, 900)


async def test_salesforce_budget_slows_down_above_its_share(
    shop: psycopg.Connection[Any], pool: AsyncConnectionPool[Any]
) -> None:
    settings = SandboxSettings(daily_api_limit=4, clock=utc_now)
    async with org_with(pool, settings, budget_share=0.5, budget_delay_seconds=0.01) as org:
        for number in ("SO-10", "SO-11", "SO-12"):
            place(shop, number)
            assert [o.result for o in await org.deliver_due()] == [Result.DELIVERED]
    budget = org.destination.api.budget
    assert budget.usage is not None
    assert (budget.usage.used, budget.usage.allocation) == (3, 4)
    assert budget.delayed == 1  # the third call, with usage at 2/4
