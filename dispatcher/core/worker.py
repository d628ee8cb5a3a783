"""One destination's delivery loop: claim a batch, deliver it outside any transaction, record.

Up to ``concurrency`` batches are in flight at once. Each destination has its own loop, pool
slots and breaker, so a slow or failing destination never slows another. A batch may hold
several consecutive messages of one ordering key; they are sent in id order, one round per
position, and a key stops at its first failure. A destination that writes such runs together
(``deliver_key_runs``) is offered the whole batch first; what it did not apply then goes in
rounds. Recording a key's message wakes the loop when the key has more queued, so the next one
is claimed at once rather than at the next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
import structlog
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from dispatcher.core import claim, record
from dispatcher.core.breaker import BreakerState, CircuitBreaker
from dispatcher.core.destination import Destination, Message, Outcome, Result, key_rounds
from dispatcher.core.metrics import Metrics
from dispatcher.core.record import Finished, Recorded
from dispatcher.core.redact import personal_values, redact, scrub_values
from dispatcher.core.retry import Decision, RetryPolicy, decide, outcome_for_error
from outbox.models import AttemptOutcome, MessageStatus

_log = structlog.get_logger("dispatcher.worker")


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    batch_size: int = 100
    concurrency: int = 2
    lease_seconds: float = 60.0
    poll_interval: float = 2.0
    reclaim_interval: float = 5.0
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    breaker_threshold: int = 10
    breaker_cooldown: float = 30.0


class DestinationWorker:
    def __init__(
        self,
        destination: Destination,
        pool: AsyncConnectionPool[Any],
        worker_id: str,
        settings: WorkerSettings,
        *,
        wakeup: asyncio.Event,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        mapping_version: Callable[[], str | None] = lambda: None,
        metrics: Metrics | None = None,
        breaker: CircuitBreaker | None = None,
        claims: AsyncConnectionPool[Any] | None = None,
    ) -> None:
        """``claims``: connections set up by ``claim.plan_once``, on which the claim runs as a
        prepared statement planned once; without them each claim is parsed and planned at
        every call."""
        self.destination = destination
        self.pool = pool
        self.claims = claims
        self.worker_id = worker_id
        self.settings = settings
        self.wakeup = wakeup
        self.rng = rng or random.Random()
        self.clock = clock
        self.mapping_version = mapping_version
        self.metrics = metrics or Metrics()
        self.log = structlog.get_logger("dispatcher.worker").bind(destination=destination.name)
        # The breaker counts the destination's calls where they leave (its HTTP client's
        # transport, built by the daemon); the worker only asks it before claiming.
        self.breaker = breaker or CircuitBreaker(
            settings.breaker_threshold, settings.breaker_cooldown, clock
        )
        self.breaker.on_change = self._breaker_moved
        # Exported from the start, closed: the series also says which process delivers here.
        self.metrics.breaker_open.labels(destination.name).set(0)
        self.in_flight: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._last_reclaim = float("-inf")
        self._db_failures = 0
        self._walk_from: str | None = None  # the last ordering key claimed: where walks resume

    async def run(self, stopping: asyncio.Event, grace: float) -> None:
        """Deliver until ``stopping`` is set, then let in-flight batches finish within ``grace``."""
        while not stopping.is_set():
            try:
                await self._step(stopping)
                self._db_failures = 0
            except (psycopg.OperationalError, psycopg.errors.AdminShutdown, OSError) as exc:
                self._db_failures += 1
                wait = min(30.0, 0.5 * 2 ** min(self._db_failures, 6))
                self.log.warning("database unreachable, retrying", error=str(exc), retry_in=wait)
                await _sleep_or_stop(stopping, wait)
            except PoolTimeout as exc:
                self.log.warning("no database connection available", error=str(exc))
                await _sleep_or_stop(stopping, 1.0)
        await self._drain(grace)

    async def _step(self, stopping: asyncio.Event) -> None:
        await self._maybe_reclaim()
        if not self.breaker.allow() or (self.breaker.probing and self.in_flight):
            await _sleep_or_stop(stopping, min(1.0, self.settings.breaker_cooldown))
            return
        if not await self._acquire_slot(stopping):
            return
        if not self.breaker.allow():  # it opened while this loop waited for a slot
            self._slots.release()
            return
        try:
            limit = (
                1
                if self.breaker.probing
                else min(self.settings.batch_size, self.destination.max_batch)
            )
            self.wakeup.clear()
            started = time.perf_counter()
            async with (self.claims or self.pool).connection() as conn:
                batch = await claim.claim(
                    conn,
                    destination=self.destination.name,
                    worker=self.worker_id,
                    limit=limit,
                    lease_seconds=self.settings.lease_seconds,
                    walk_from=self._walk_from,
                    prepared=self.claims is not None,
                )
            self.metrics.claim_seconds.labels(self.destination.name).observe(
                time.perf_counter() - started
            )
        except BaseException:
            self._slots.release()
            raise
        if not batch:
            self._slots.release()
            await self._idle(stopping)
            return
        keys = [m.ordering_key for m in batch if m.ordering_key is not None]
        if keys:
            self._walk_from = max(keys)
        task = asyncio.create_task(self._deliver(batch))
        self.in_flight.add(task)
        task.add_done_callback(self._done)
        if batch.every_key:
            # The claim took every key that could be claimed (see claim_messages): a claim now
            # would find nothing new and only slow this batch's record. Claim again once it is
            # recorded, or on a NOTIFY or another batch's record. A claim cut short by another
            # worker's locks is not one of these: it claims again at once.
            await self._idle(stopping, task)

    async def _acquire_slot(self, stopping: asyncio.Event) -> bool:
        """Wait for a free delivery slot, or for shutdown, whichever comes first."""
        acquire = asyncio.ensure_future(self._slots.acquire())
        stop = asyncio.ensure_future(stopping.wait())
        await asyncio.wait([acquire, stop], return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if acquire.done() and not acquire.cancelled():
            if stopping.is_set():
                self._slots.release()
                return False
            return True
        acquire.cancel()
        return False

    def _done(self, task: asyncio.Task[None]) -> None:
        self.in_flight.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            self.log.error("batch failed to record", error=repr(task.exception()))

    async def _idle(self, stopping: asyncio.Event, batch: asyncio.Task[None] | None = None) -> None:
        """Wait for a NOTIFY or the poll interval, whichever comes first; never spin. Given a
        batch in flight, its end (recorded) also ends the wait."""
        waiters = [
            asyncio.ensure_future(self.wakeup.wait()),
            asyncio.ensure_future(stopping.wait()),
        ]
        watched: list[asyncio.Future[Any]] = [*waiters, *([batch] if batch else [])]
        try:
            await asyncio.wait(
                watched, timeout=self.settings.poll_interval, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _maybe_reclaim(self) -> None:
        if self.clock() - self._last_reclaim < self.settings.reclaim_interval:
            return
        self._last_reclaim = self.clock()
        async with self.pool.connection() as conn:
            count = await claim.reclaim_expired(
                conn, destination=self.destination.name, worker=self.worker_id
            )
        if count:
            self.log.warning("recovered messages whose lease expired", messages=count)

    async def _deliver(self, batch: Sequence[Message]) -> None:
        started = datetime.now(UTC)
        heartbeat = asyncio.create_task(self._heartbeat([m.id for m in batch]))
        try:
            outcomes, untried = await self._call(batch)
        except asyncio.CancelledError:
            heartbeat.cancel()
            await asyncio.shield(self._release(batch, started))
            raise
        finally:
            heartbeat.cancel()
        tried = [m for m in batch if m.id in outcomes]
        await self._record(tried, outcomes, started, untried)

    async def _call(self, batch: Sequence[Message]) -> tuple[dict[int, Outcome], list[Message]]:
        if getattr(self.destination, "sends_key_runs", False):
            return await self._send_round(batch), []
        return await send_batch(self.destination, self._send_round, batch, self.log)

    async def _send_round(self, batch: Sequence[Message]) -> dict[int, Outcome]:
        """One call's worth: unreadable messages die without a call, the rest are sent."""
        unreadable = [m for m in batch if m.problem is not None]
        sendable = [m for m in batch if m.problem is None]
        outcomes = [_unreadable(m) for m in unreadable]
        if sendable:
            outcomes.extend(await self._send(sendable))
        messages = {m.id: m for m in batch}
        by_id = {outcome.message_id: _scrubbed(outcome, messages) for outcome in outcomes}
        for message in batch:
            by_id.setdefault(
                message.id,
                Outcome(
                    message.id,
                    Result.RETRY,
                    error_code="NO_OUTCOME",
                    error_message="the destination returned no outcome for this message",
                ),
            )
        return by_id

    async def _send(self, batch: Sequence[Message]) -> list[Outcome]:
        try:
            return list(await self.destination.deliver(batch))
        except Exception as exc:  # nothing a destination does may kill the loop
            return await self._isolate(batch, exc)

    async def _isolate(self, batch: Sequence[Message], exc: Exception) -> list[Outcome]:
        """A batch that raised an error of the message itself (a payload that cannot be
        mapped or encoded) is sent again in halves until the culprit is alone, so it dies
        alone; idempotent destinations make the repeat harmless. An outage applies to all."""
        first = outcome_for_error(batch[0].id, exc)
        if len(batch) == 1 or first.result is not Result.DEAD:
            self.log.error(
                "destination raised",
                messages=id_ranges([m.id for m in batch]),
                error=first.error_message,
                error_code=first.error_code,
                exc_info=first.error_code == "UNEXPECTED_ERROR",
            )
            return [dataclasses.replace(first, message_id=m.id) for m in batch]
        self.log.warning(
            "a message of the batch cannot be sent; isolating it",
            messages=id_ranges([m.id for m in batch]),
            error_code=first.error_code,
        )
        half = len(batch) // 2
        outcomes: list[Outcome] = []
        for part in (batch[:half], batch[half:]):
            outcomes.extend(await self._send(part))
        return outcomes

    async def _record(
        self,
        batch: Sequence[Message],
        outcomes: dict[int, Outcome],
        started: datetime,
        untried: Sequence[Message] = (),
    ) -> None:
        finished_at = datetime.now(UTC)
        results = [
            Finished(
                message,
                decide(outcomes[message.id], message.attempt, self.settings.policy, self.rng),
                outcomes[message.id].http_status,
                outcomes[message.id].record_id,
                started,
                finished_at,
            )
            for message in batch
        ]
        await self._pause_if_limited(results)
        recorded = await self._finish_with_retries(results, untried)
        if recorded.keys_waiting:
            self.wakeup.set()
        self._account(results, set(recorded.applied), finished_at - started, len(untried))

    async def _pause_if_limited(self, results: Sequence[Finished]) -> None:
        waits = [
            r.decision.retry_in or 0.0
            for r in results
            if r.decision.outcome is AttemptOutcome.RATE_LIMITED
        ]
        if waits:
            async with self.pool.connection() as conn:
                await record.pause_destination(conn, self.destination.name, max(waits))
            self.log.warning("rate limited; destination paused", seconds=round(max(waits), 3))

    async def _finish_with_retries(
        self, results: Sequence[Finished], untried: Sequence[Message]
    ) -> Recorded:
        for attempt in range(5):
            try:
                async with self.pool.connection() as conn:
                    return await record.finish_batch(
                        conn,
                        results,
                        worker=self.worker_id,
                        mapping_version=self.mapping_version(),
                        untried=untried,
                    )
            except psycopg.OperationalError as exc:
                self.log.warning(
                    "could not record a batch yet", error=str(exc), attempt=attempt + 1
                )
                await asyncio.sleep(0.5 * 2**attempt)
        self.log.error(
            "gave up recording a batch; its leases will lapse and it will be redelivered"
        )
        return Recorded(frozenset(), keys_waiting=False)

    def _account(
        self, results: Sequence[Finished], applied: set[int], took: Any, untried: int = 0
    ) -> None:
        name = self.destination.name
        by_event = Counter((r.message.event_type, r.decision.outcome.value) for r in results)
        counts: Counter[str] = Counter()
        for (event_type, outcome), count in by_event.items():
            self.metrics.outcomes.labels(name, event_type, outcome).inc(count)
            counts[outcome] += count
        self.metrics.attempt_seconds.labels(name).observe(took.total_seconds())
        budget = getattr(self.destination, "api_budget_used", None)
        used = budget() if callable(budget) else None
        if isinstance(used, float):
            self.metrics.api_budget_used.labels(name).set(used)
        failed = [r for r in results if r.decision.outcome is not AttemptOutcome.DELIVERED]
        log = self.log.warning if failed else self.log.info
        log(
            "batch delivered" if not failed else "batch had failures",
            messages=id_ranges([r.message.id for r in results]),
            correlation_ids=sorted(
                {str(r.message.correlation_id) for r in results if r.message.correlation_id}
            ),
            outcomes=dict(counts),
            stale=len(results) + untried - len(applied),
            untried=untried,
            errors=sorted({r.decision.error_code or "" for r in failed})[:5],
            mapping_version=self.mapping_version(),
            ms=round(took.total_seconds() * 1000, 1),
        )

    async def _heartbeat(self, ids: list[int]) -> None:
        interval = self.settings.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(psycopg.Error):
                async with self.pool.connection() as conn:
                    await claim.extend_leases(
                        conn,
                        ids=ids,
                        worker=self.worker_id,
                        lease_seconds=self.settings.lease_seconds,
                    )

    async def _release(self, batch: Sequence[Message], started: datetime) -> None:
        """Hand back leases of a batch cut short by shutdown: not an attempt, due at once."""
        released = Decision(
            AttemptOutcome.RELEASED, MessageStatus.RETRYING, 0.0, "RELEASED", "shutdown"
        )
        now = datetime.now(UTC)
        results = [Finished(m, released, None, None, started, now) for m in batch]
        with contextlib.suppress(psycopg.Error):
            async with self.pool.connection() as conn:
                await record.finish(conn, results, worker=self.worker_id)

    async def _drain(self, grace: float) -> None:
        if not self.in_flight:
            return
        self.log.info("waiting for batches in flight", batches=len(self.in_flight), grace=grace)
        _, pending = await asyncio.wait(set(self.in_flight), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
            self.log.warning(
                "grace period over; handed back unfinished batches", batches=len(pending)
            )

    def _breaker_moved(self, old: BreakerState, new: BreakerState) -> None:
        level = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}[new]
        self.metrics.breaker_open.labels(self.destination.name).set(level)
        self.log.warning("circuit breaker changed", old=str(old), new=str(new))


async def send_batch(
    destination: Destination,
    send: Callable[[Sequence[Message]], Awaitable[dict[int, Outcome]]],
    batch: Sequence[Message],
    log: Any = None,
) -> tuple[dict[int, Outcome], list[Message]]:
    """A batch holding a run of some key goes whole to a destination that writes key runs
    together (``deliver_key_runs``). It answers for what it applied: all of the batch, part of
    it, or nothing (None). What it applied is never sent again; the rest goes round by round
    (``send_in_key_order``), so what is reported for it is what the rounds report. An answer
    other than deliveries of batch messages, once each, where every key's answered messages
    come before its unanswered ones, is not trusted: the whole batch goes round by round, as
    when the destination raised."""
    together = getattr(destination, "deliver_key_runs", None)
    if together is None or len(key_rounds(batch)) < 2 or any(m.problem for m in batch):
        return await send_in_key_order(send, batch)
    try:
        outcomes = list(await together(batch) or ())
    except Exception as exc:  # nothing a destination does may kill the loop
        (log or _log).error("writing key runs together raised", error=repr(exc), exc_info=True)
        outcomes = []

    def in_order() -> bool:
        """A key's answered messages first, so the rounds keep the key's order."""
        answered = {o.message_id for o in outcomes}
        if len(answered) != len(outcomes) or not answered <= {m.id for m in batch}:
            return False
        left: set[str | None] = set()  # keys with a message not answered, so far in id order
        for message in sorted(batch, key=lambda m: m.id):
            if message.id not in answered:
                left.add(message.ordering_key)
            elif message.ordering_key is not None and message.ordering_key in left:
                return False
        return all(o.result is Result.DELIVERED for o in outcomes)

    if outcomes and not in_order():
        (log or _log).error("key runs answered other than deliveries of each key's first messages")
        outcomes = []
    applied = {o.message_id: o for o in outcomes}
    rest = [m for m in batch if m.id not in applied]
    if not rest:
        return applied, []
    found, untried = await send_in_key_order(send, rest)
    return {**applied, **found}, untried


async def send_in_key_order(
    send: Callable[[Sequence[Message]], Awaitable[dict[int, Outcome]]], batch: Sequence[Message]
) -> tuple[dict[int, Outcome], list[Message]]:
    """Send a batch in rounds: the unkeyed messages and the first of each key, then the second
    of each key whose first was delivered, and so on. A key's messages reach the destination in
    id order, each only after the one before it succeeded; what is behind a failure comes back
    untried, to be claimed again after it. Returns the outcomes and the untried messages."""
    queues: dict[str, deque[Message]] = {}
    sending: list[Message] = []
    for message in sorted(batch, key=lambda m: m.id):
        if message.ordering_key is None:
            sending.append(message)
        else:
            queues.setdefault(message.ordering_key, deque()).append(message)
    sending.extend(queue.popleft() for queue in queues.values())
    sending.sort(key=lambda m: m.id)
    outcomes: dict[int, Outcome] = {}
    while sending:
        outcomes.update(await send(sending))
        following = []
        for message in sending:
            queue = queues.get(message.ordering_key) if message.ordering_key else None
            if queue and outcomes[message.id].result is Result.DELIVERED:
                following.append(queue.popleft())
        sending = following
    return outcomes, [m for queue in queues.values() for m in queue]


def id_ranges(ids: Sequence[int]) -> str:
    """Message ids as compact ranges ("1-100,205"): a batch's log line stays one short line."""
    ordered = sorted(ids)
    if not ordered:
        return ""
    parts: list[str] = []
    start = prev = ordered[0]
    for current in [*ordered[1:], None]:
        if current is not None and current == prev + 1:
            prev = current
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if current is not None:
            start = prev = current
    return ",".join(parts)


def _scrubbed(outcome: Outcome, messages: dict[int, Message]) -> Outcome:
    """An error text is redacted whichever destination wrote it, and loses the personal values
    its own message carries (a name or a phone number an API echoed in a sentence, which no
    pattern can recognise)."""
    if not outcome.error_message:
        return outcome
    message = messages.get(outcome.message_id)
    values = personal_values(message.payload) if message is not None else set()
    text = redact(scrub_values(outcome.error_message, values))
    if text == outcome.error_message:
        return outcome
    return dataclasses.replace(outcome, error_message=text)


def _unreadable(message: Message) -> Outcome:
    return Outcome(
        message.id, Result.DEAD, error_code="UNREADABLE_PAYLOAD", error_message=message.problem
    )


async def _sleep_or_stop(stopping: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), timeout=seconds)
