"""The Salesforce destination: a claimed batch in, one outcome per message out.

A message is delivered only when every record it produces was written; its outcome records the
Salesforce Id of its own record (the Order of an order). Records travel parents first, and once
a call has failed a parent, records that only that parent's messages need are not sent at all.
A whole call refused (network, 5xx, the daily limit) stops the batch: every message not yet
decided gets that call's error, so a failing org is not asked again within the same batch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import structlog
from psycopg_pool import AsyncConnectionPool

from dispatcher.core.destination import Message, Outcome, key_rounds
from dispatcher.core.errors import DeliveryError, RetryableError
from dispatcher.core.retry import outcome_for_error
from dispatcher.destinations.salesforce import catalog, identity, runs
from dispatcher.destinations.salesforce.api import SalesforceApi
from dispatcher.destinations.salesforce.plan import (
    BatchPlan,
    Key,
    MessagePlan,
    RecordWrite,
    map_batch,
    plan_batch,
    refuse_blocked,
)
from dispatcher.destinations.salesforce.upsert import PER_COMPOSITE, RecordResult, chunks, upsert
from dispatcher.mapping import DestinationMapping, Operation
from dispatcher.mapping.reload import MappingSet

EXISTS_CODE = "DUPLICATE_VALUE"
LOCKED_CODE = "FIELD_INTEGRITY_EXCEPTION"
Results = dict[Key, RecordResult]


class SalesforceDestination:
    def __init__(
        self,
        name: str,
        api: SalesforceApi,
        pool: AsyncConnectionPool[Any],
        mappings: MappingSet,
        *,
        max_batch: int = 200,
    ) -> None:
        self.name = name
        self.max_batch = max_batch
        self.api = api
        self._pool = pool
        self._mappings = mappings
        self._catalog = catalog.Catalog(api, pool, api.settings.pricebook_id)
        self._log = structlog.get_logger("dispatcher.salesforce").bind(destination=name)

    def api_budget_used(self) -> float | None:
        """Share of the org's daily API allocation used, as the last answer reported it."""
        usage = self.api.budget.usage
        return usage.share if usage is not None else None

    def mapping(self) -> DestinationMapping:
        """The mapping file for this destination's name, or the shipped ``salesforce`` one."""
        found = self._mappings.current.destinations
        return found.get(self.name) or found["salesforce"]

    async def deliver(self, batch: Sequence[Message]) -> Sequence[Outcome]:
        mapping = self.mapping()
        try:
            lookup = await self._catalog.lookup_for(mapping, batch)
        except DeliveryError as exc:
            return [outcome_for_error(m.id, exc) for m in batch]
        mapped, refused = map_batch(mapping, batch, lookup)
        try:
            async with self._pool.connection() as conn:
                blocked = await identity.blocked_sections(conn, self.name, mapping.version)
                mapped, stopped = refuse_blocked(mapped, blocked)
                refused += stopped
                known = await identity.known_ids(conn, self.name, mapped)
                if self.api.settings.match_guests_by_email:
                    known |= await identity.match_guests(self.api, conn, self.name, mapped, known)
        except DeliveryError as exc:
            return [*refused, *(outcome_for_error(m.id, exc) for m, _ in mapped)]
        plan = plan_batch(mapping, mapped, known, refused)
        results: Results = {
            w.key: RecordResult(w.key, w.salesforce_id, False, None)
            for w in plan.writes.values()
            if w.unchanged
        }
        sent = [w for w in plan.writes.values() if not w.unchanged]
        results.update(await self._send(plan, sent))
        await self._resend_existing(plan, results)
        async with self._pool.connection() as conn:
            await identity.remember(conn, self.name, plan.writes.values(), results)
        return [*plan.refused, *(self._outcome(m, results) for m in plan.messages)]

    async def deliver_key_runs(self, batch: Sequence[Message]) -> Sequence[Outcome] | None:
        """Every round of the batch in one composite call, all or nothing (``runs``). None when
        nothing was applied: a message refused before any call, a run too big for one call, or
        a refusal that rolled the call back; the worker then sends the batch round by round,
        which reports each message's own outcome."""
        mapping = self.mapping()
        try:
            lookup = await self._catalog.lookup_for(mapping, batch)
            plans = await self._plan_rounds(mapping, key_rounds(batch), lookup)
        except DeliveryError:
            return None
        run = None if plans is None else runs.plan_run(plans)
        if plans is None or run is None:
            return None
        sent = await runs.send_run(self.api, run)
        if isinstance(sent, runs.Refusal):
            self._log.info("key runs not written together; sending round by round",
                           messages=len(batch), reason=sent.detail)  # fmt: skip
            return None
        results: Results = {}
        for plan in plans:
            results.update(
                (w.key, RecordResult(w.key, w.salesforce_id, False, None))
                for w in plan.writes.values()
                if w.unchanged and w.key not in results
            )
        results.update(sent)
        async with self._pool.connection() as conn:
            await identity.remember(conn, self.name, run.writes, results)
        return [self._outcome(m, results) for plan in plans for m in plan.messages]

    async def _plan_rounds(
        self,
        mapping: DestinationMapping,
        rounds: Sequence[Sequence[Message]],
        lookup: Any,
    ) -> list[BatchPlan] | None:
        """Each round planned as ``deliver`` plans it; None if any message is refused, or if
        a guest's Contact is to be looked up by e-mail first."""
        plans = []
        async with self._pool.connection() as conn:
            blocked = await identity.blocked_sections(conn, self.name, mapping.version)
            for messages in rounds:
                mapped, refused = map_batch(mapping, messages, lookup)
                mapped, stopped = refuse_blocked(mapped, blocked)
                if refused or stopped:
                    return None
                known = await identity.known_ids(conn, self.name, mapped)
                if self.api.settings.match_guests_by_email and identity.has_guests(mapped, known):
                    return None  # a guest is looked up, and maybe attached, round by round
                plans.append(plan_batch(mapping, mapped, known))
        return plans

    async def _send(self, plan: BatchPlan, writes: list[RecordWrite]) -> Results:
        results: Results = {}
        remaining = writes
        while remaining:
            steps = chunks(remaining)
            sent = steps[:PER_COMPOSITE]
            remaining = [w for step in steps[PER_COMPOSITE:] for w in step]
            try:
                for result in await upsert(self.api, sent):
                    results[result.key] = result
            except DeliveryError as exc:
                for write in [w for step in sent for w in step] + remaining:
                    results[write.key] = RecordResult(write.key, None, False, exc)
                break
            remaining = _still_needed(plan, remaining, results)
        return results

    async def _resend_existing(self, plan: BatchPlan, results: Results) -> None:
        """Records sent for creation that may already exist (the crash window in ``plan``):
        Salesforce refused the duplicate external ID, or refused to add a record whose every
        field is set at create (a product of an order activated since) — then send the update
        body instead, as an upsert; fields it leaves out keep what Salesforce holds."""
        again = [
            dataclasses.replace(w, operation=Operation.UPDATE, body=w.update_body)
            for w in plan.writes.values()
            if w.operation is Operation.CREATE
            and (found := results.get(w.key)) is not None
            and found.error is not None
            and _may_exist(w, found.error)
        ]
        if not again:
            return
        self._log.info("records existed though not remembered; sent as updates",
                       records=len(again))  # fmt: skip
        for key, result in (await self._send(plan, again)).items():
            # A duplicate exists: what its update says is the truth (a lock error is retried).
            # A refused create-only record: the create's refusal says more than the update's.
            original = results[key].error
            if result.error is None or (original is not None and original.code == EXISTS_CODE):
                results[key] = result

    def _outcome(self, plan: MessagePlan, results: Results) -> Outcome:
        for key in plan.keys:
            result = results.get(key)
            error = None if result is None else result.error
            if result is None:
                error = RetryableError("the record was not sent", code="NOT_SENT")
            if error is not None:
                outcome = outcome_for_error(plan.message.id, error)
                return dataclasses.replace(outcome, error_message=f"{key[0]} {key[1]}: {error}")
        primary = results[plan.primary] if plan.primary else None
        return Outcome.delivered(
            plan.message.id, record_id=primary.salesforce_id if primary else None, http_status=200
        )

    async def aclose(self) -> None:
        return None


def _may_exist(write: RecordWrite, error: DeliveryError) -> bool:
    if error.code == EXISTS_CODE:
        return write.external_id_field.lower() in str(error).lower()
    return error.code == LOCKED_CODE and not write.update_body


def _still_needed(
    plan: BatchPlan, writes: list[RecordWrite], results: Results
) -> list[RecordWrite]:
    """Drop records whose every message already failed: no call is spent on a child whose
    parent was refused."""
    failed = {
        m.message.id
        for m in plan.messages
        if any((r := results.get(k)) is not None and r.error is not None for k in m.keys)
    }
    if not failed:
        return writes
    users: dict[Key, set[int]] = {}
    for m in plan.messages:
        for key in m.keys:
            users.setdefault(key, set()).add(m.message.id)
    return [w for w in writes if not users.get(w.key, set()) <= failed]
