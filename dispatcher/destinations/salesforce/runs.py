"""Several rounds of a batch (a key's placed, paid, shipped...) written in one composite call.

Each round is planned as the round-by-round path plans it; a later round then treats the
records an earlier round writes as existing: a record it would create is sent with its update
body as an upsert by external ID, and not at all when that body is empty (an order line: every
field is set at create). The rounds' records travel in round order, parents first within each
round, in one ``POST /composite`` with ``allOrNone: true`` (one refused record rolls back every
subrequest, Collections included: the REST API guide, "allOrNone Parameters in Composite and
Collections Requests") and ``collateSubrequests: false`` (with collation, the default from API
49, Salesforce may run subrequests out of order: API-NOTES §1.4).

The composite's limits (the guide's Composite resource page): at most 25 subrequests, at most 5
of them sObject Collections or queries. The five largest chunks of several records go as sObject
Collections as in ``upsert``; every other record goes as a single-record subrequest
(``POST /sobjects/{Type}``, or ``PATCH /sobjects/{Type}/{ExtIdField}/{value}`` to upsert, the
guide's "Insert or Update (Upsert) a Record Using an External ID"), which is not a Collections
operation. So a run with more than five kinds of record (an order's account, contact, order,
lines and enrollments, then its payment) still fits while its smaller kinds are few. A run that
does not fit is not sent this way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from dispatcher.core.errors import DeliveryError
from dispatcher.destinations.salesforce.api import SalesforceApi
from dispatcher.destinations.salesforce.plan import BatchPlan, Key, RecordWrite
from dispatcher.destinations.salesforce.refusals import body_error
from dispatcher.destinations.salesforce.upsert import RecordResult, chunks, collection_results
from dispatcher.mapping import Operation

MAX_SUBREQUESTS = 25
MAX_COLLECTIONS = 5
ROLLED_BACK = frozenset({"PROCESSING_HALTED", "ALL_OR_NONE_OPERATION_ROLLED_BACK"})


@dataclass(frozen=True, slots=True)
class Run:
    steps: tuple[tuple[RecordWrite, ...], ...]  # one subrequest each, in the order to run
    writes: tuple[RecordWrite, ...]  # every record of the run once, for remembering its Id


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a run was not applied: the first subrequest that failed, or the call's error."""

    error: DeliveryError | None
    detail: str
    whole_call: bool = False  # the call itself failed (network, 5xx, a limit), not a record


def plan_run(plans: Sequence[BatchPlan]) -> Run | None:
    """The rounds' records as composite subrequests, or None when they do not fit in one call
    or when a later round writes a customer's record an earlier round writes (which profile
    snapshot wins is decided round by round, from what was remembered)."""
    written: dict[Key, RecordWrite] = {}
    found: list[list[RecordWrite]] = []
    for plan in plans:
        sent: list[RecordWrite] = []
        for write in plan.writes.values():
            earlier = written.get(write.key)
            if earlier is not None:
                if write.version is not None or earlier.version is not None:
                    return None
                if write.operation is Operation.CREATE:
                    write = dataclasses.replace(
                        write, operation=Operation.UPDATE, body=write.update_body
                    )
                if not write.body:
                    _keep(written, write, earlier)
                    continue
            elif write.unchanged:
                continue
            sent.append(write)
            _keep(written, write, earlier)
        found.extend(chunks(sent))
    steps = _steps(found)
    if not steps or len(steps) > MAX_SUBREQUESTS:
        return None
    return Run(tuple(steps), tuple(written.values()))


def _steps(found: list[list[RecordWrite]]) -> list[tuple[RecordWrite, ...]]:
    """The chunks as subrequests, in order: the ``MAX_COLLECTIONS`` largest of several records
    (the earlier of two the same size) as sObject Collections, every other record alone. Each
    record alone takes a subrequest, so the largest chunks are the ones kept whole."""
    several = [index for index, chunk in enumerate(found) if len(chunk) > 1]
    several.sort(key=lambda index: (-len(found[index]), index))
    whole = set(several[:MAX_COLLECTIONS])
    steps: list[tuple[RecordWrite, ...]] = []
    for index, chunk in enumerate(found):
        if index in whole:
            steps.append(tuple(chunk))
        else:
            steps.extend((write,) for write in chunk)
    return steps


def _keep(written: dict[Key, RecordWrite], write: RecordWrite, earlier: RecordWrite | None) -> None:
    """The record as the run leaves it: the first write's operation (a create stays one), every
    storefront key that names it."""
    if earlier is None:
        written[write.key] = dataclasses.replace(write, storefront_keys=set(write.storefront_keys))
        return
    earlier.storefront_keys |= write.storefront_keys


async def send_run(api: SalesforceApi, run: Run) -> dict[Key, RecordResult] | Refusal:
    """Every record's result when the whole run was applied, else why nothing was."""
    subrequests = [_subrequest(api, f"step{i}", step) for i, step in enumerate(run.steps)]
    body = {"allOrNone": True, "collateSubrequests": False, "compositeRequest": subrequests}
    try:
        answer = await api.call("POST", "/composite", json=body)
    except DeliveryError as exc:
        return Refusal(exc, str(exc), whole_call=True)
    responses = {r.get("referenceId"): r for r in (answer or {}).get("compositeResponse", [])}
    results: dict[Key, RecordResult] = {}
    refusals: list[Refusal] = []
    for index, step in enumerate(run.steps):
        sub = responses.get(f"step{index}")
        found = _step_results(api, step, sub) if isinstance(sub, dict) else None
        if found is None or any(r.error is not None for r in found):
            error = next((r.error for r in found or () if r.error is not None), None)
            shown = ", ".join(f"{w.object_name} {w.upsert_key}" for w in step)
            text = f"subrequest step{index} ({shown}): {error or 'no answer'}"
            refusals.append(Refusal(error, text))
            continue
        for result in found:
            earlier = results.get(result.key)
            if result.salesforce_id is None and earlier is not None:
                result = dataclasses.replace(result, salesforce_id=earlier.salesforce_id)
            results[result.key] = result
    if refusals:
        # The cause, not the subrequests rolled back or halted because of it.
        causes = [r for r in refusals if r.error is None or r.error.code not in ROLLED_BACK]
        return (causes or refusals)[0]
    return results


def _subrequest(
    api: SalesforceApi, reference: str, step: tuple[RecordWrite, ...]
) -> dict[str, Any]:
    base = api.settings.data_path
    if len(step) > 1:
        first = step[0]
        creates = first.operation is Operation.CREATE
        path = (
            "/composite/sobjects"
            if creates
            else f"/composite/sobjects/{quote(first.object_name)}/{quote(first.external_id_field)}"
        )
        records = {"allOrNone": True, "records": [w.payload() for w in step]}
        method = "POST" if creates else "PATCH"
        return {"method": method, "url": base + path, "referenceId": reference, "body": records}
    (write,) = step
    if write.operation is Operation.CREATE:
        fields = {k: v for k, v in write.payload().items() if k != "attributes"}
        url = f"{base}/sobjects/{quote(write.object_name)}"
        return {"method": "POST", "url": url, "referenceId": reference, "body": fields}
    url = (
        f"{base}/sobjects/{quote(write.object_name)}/{quote(write.external_id_field)}/"
        f"{quote(write.upsert_key, safe='')}"
    )
    return {"method": "PATCH", "url": url, "referenceId": reference, "body": dict(write.body)}


def _step_results(
    api: SalesforceApi, step: tuple[RecordWrite, ...], sub: dict[str, Any]
) -> list[RecordResult] | None:
    status = int(sub.get("httpStatusCode", 500))
    body = sub.get("body")
    if len(step) > 1:
        return collection_results(list(step), status, body, api)
    (write,) = step
    pause = api.settings.daily_limit_pause_seconds
    if status >= 400:
        return [RecordResult(write.key, None, False, body_error(status, body, daily_pause=pause))]
    if status == 204:  # an upsert that updated, before API 46: no body
        return [RecordResult(write.key, None, False, None)]
    if not isinstance(body, dict) or not body.get("success", True) or not body.get("id"):
        return None
    created = write.operation is Operation.CREATE or bool(body.get("created"))
    return [RecordResult(write.key, str(body["id"]), created, None)]
