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

from dispatcher.core.destination import Message, Outcome, Result
from dispatcher.core.errors import DeliveryError, RetryableError
from dispatcher.core.retry import outcome_for_error
from dispatcher.destinations.salesforce import catalog, identity, packing, runs
from dispatcher.destinations.salesforce.api import SalesforceApi
from dispatcher.destinations.salesforce.plan import (
    BatchPlan,
    Key,
    Known,
    MessagePlan,
    RecordWrite,
    map_batch,
    plan_batch,
    refuse_blocked,
)
from dispatcher.destinations.salesforce.upsert import PER_COMPOSITE, RecordResult, chunks, upsert
from dispatcher.mapping import DestinationMapping, MappedRecord, Operation
from dispatcher.mapping.reload import MappingSet

EXISTS_CODE = "DUPLICATE_VALUE"
LOCKED_CODE = "FIELD_INTEGRITY_EXCEPTION"
Results = dict[Key, RecordResult]
Records = tuple[MappedRecord, ...]


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
        await self._settle(plan, sent, results)
        async with self._pool.connection() as conn:
            await identity.remember(conn, self.name, plan.writes.values(), results)
        return [*plan.refused, *(self._outcome(m, results) for m in plan.messages)]

    async def deliver_key_runs(self, batch: Sequence[Message]) -> Sequence[Outcome] | None:
        """The batch's key runs written together, all or nothing per composite call (``runs``):
        in one call when they fit, else packed into groups of whole keys (``packing``), one
        call each, when that costs fewer calls than the rounds. A delivered outcome for every
        message of the groups applied, None when none was. The worker sends the rest round by
        round, which reports each message's own outcome: a group refused (rolled back whole),
        a key whose run fits no call, a key with a message refused before any call or a guest
        to look up by e-mail.

        Groups go one after another, each planned from what the ones before it wrote. Two
        groups may share a parent (the Account of a clinic two of whose people bought; one
        customer's messages share a key, so never two groups): planned up front, the second
        would try to create what the first just created and be refused as a duplicate, and
        sent at once the two would contend for its row lock (UNABLE_TO_LOCK_ROW). The worker's
        batches already run side by side."""
        mapping = self.mapping()
        try:
            lookup = await self._catalog.lookup_for(mapping, batch)
            packed = await self._pack(mapping, batch, lookup)
        except DeliveryError:
            return None
        if packed is None:
            return None
        records, groups = packed
        delivered: list[Outcome] = []
        for group in groups:
            written = await self._write_group(mapping, records, group)
            if isinstance(written, runs.Refusal):
                self._log.info("key runs not written together; sending round by round",
                               messages=sum(map(len, group)), reason=written.detail)  # fmt: skip
                if written.whole_call:
                    break  # the org refused the call itself: ask it nothing more in this batch
                continue
            if any(o.result is not Result.DELIVERED for o in written):
                # Not expected of a run applied whole; the rounds resend its keys, idempotently.
                self._log.error("a key run applied without a record for every message",
                                messages=sum(map(len, group)))  # fmt: skip
                continue
            delivered.extend(written)
        return delivered or None

    async def _pack(
        self, mapping: DestinationMapping, batch: Sequence[Message], lookup: Any
    ) -> tuple[dict[int, Records], list[list[packing.Unit]]] | None:
        """Each message mapped once, and the keys that may go together packed into groups; None
        when the groups would not cost fewer calls than the rounds."""
        mapped, refused = map_batch(mapping, batch, lookup)
        async with self._pool.connection() as conn:
            blocked = await identity.blocked_sections(conn, self.name, mapping.version)
            mapped, stopped = refuse_blocked(mapped, blocked)
            known = await identity.known_ids(conn, self.name, mapped)
        records = {m.id: r for m, r in mapped}
        held = {o.message_id for o in [*refused, *stopped]}
        candidates, rest = self._split(batch, records, held, known)

        def cost(units: Sequence[packing.Unit]) -> int:
            return packing.rounds_calls(packing.plan_units(mapping, records, units, known))

        def fits(units: Sequence[packing.Unit]) -> bool:
            return runs.plan_run(packing.plan_units(mapping, records, units, known)) is not None

        whole = packing.plan_units(mapping, records, [*candidates, *rest], known)
        by_rounds = packing.rounds_calls(whole)
        if not rest and by_rounds > 1 and runs.plan_run(whole) is not None:
            return records, [candidates]  # the common case: the whole batch in one call
        packed = packing.pack(candidates, fits, most=by_rounds - 1)
        if packed is None or not packed[0]:
            return None
        groups, alone = packed
        if len(groups) + cost([*rest, *alone]) >= by_rounds:
            return None
        return records, groups

    def _split(
        self,
        batch: Sequence[Message],
        records: dict[int, Records],
        held: set[int],
        known: dict[Key, Known],
    ) -> tuple[list[packing.Unit], list[packing.Unit]]:
        """The keys that may go together, and those left to the rounds: a key with a message
        refused before any call (it dies there without one) or a guest to look up by e-mail
        (and maybe attach to a Contact found)."""
        guests = self.api.settings.match_guests_by_email
        together: list[packing.Unit] = []
        rounds: list[packing.Unit] = []
        for unit in packing.units_of(batch):
            mine = [(m, records[m.id]) for m in unit if m.id in records]
            if any(m.id in held for m in unit) or (guests and identity.has_guests(mine, known)):
                rounds.append(unit)
            else:
                together.append(unit)
        return together, rounds

    async def _write_group(
        self, mapping: DestinationMapping, records: dict[int, Records], group: list[packing.Unit]
    ) -> list[Outcome] | runs.Refusal:
        """One group in one composite call, planned from what the destination knows now."""
        mapped = [(m, records[m.id]) for unit in group for m in unit]
        async with self._pool.connection() as conn:
            known = await identity.known_ids(conn, self.name, mapped)
        plans = packing.plan_units(mapping, records, group, known)
        run = runs.plan_run(plans)
        if run is None:
            # What an earlier group wrote is an update here, and split a chunk: too big now.
            return runs.Refusal(None, "the group no longer fits one call")
        sent = await runs.send_run(self.api, run)
        if isinstance(sent, runs.Refusal):
            return sent
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

    async def _resend_existing(self, plan: BatchPlan, results: Results, resent: set[Key]) -> bool:
        """Records sent for creation that may already exist (the crash window in ``plan``):
        Salesforce refused the duplicate external ID, or refused to add a record whose every
        field is set at create (a product of an order activated since) — then send the update
        body instead, as an upsert; fields it leaves out keep what Salesforce holds. Keys in
        ``resent`` were resent already and are not again; those resent now are added."""
        again = [
            dataclasses.replace(w, operation=Operation.UPDATE, body=w.update_body)
            for w in plan.writes.values()
            if w.operation is Operation.CREATE
            and (found := results.get(w.key)) is not None
            and found.error is not None
            and _may_exist(w, found.error)
            and w.key not in resent
        ]
        if not again:
            return False
        resent.update(w.key for w in again)
        self._log.info("records existed though not remembered; sent as updates",
                       records=len(again))  # fmt: skip
        for key, result in (await self._send(plan, again)).items():
            # A duplicate exists: what its update says is the truth (a lock error is retried).
            # A refused create-only record: the create's refusal says more than the update's.
            original = results[key].error
            if result.error is None or (original is not None and original.code == EXISTS_CODE):
                results[key] = result
        return True

    async def _settle(self, plan: BatchPlan, sent: list[RecordWrite], results: Results) -> None:
        """Creates refused because the record existed are resent as updates; then the records
        ``_send`` held back as children of those refusals are sent, which may meet existing
        records in turn. Without the second step their messages were retried with nothing
        wrong (a new order behind a customer another dispatcher had just written). Each pass
        sends only records not sent or resent before, so the passes end."""
        resent: set[Key] = set()
        for _ in range(len(sent) + 1):
            if not await self._resend_existing(plan, results, resent):
                return
            held = _still_needed(plan, [w for w in sent if w.key not in results], results)
            if not held:
                return
            results.update(await self._send(plan, held))

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
