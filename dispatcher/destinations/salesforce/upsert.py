"""Create and upsert records with sObject Collections, several object types per API call.

``PATCH /composite/sobjects/{Type}/{ExtIdField}`` takes up to 200 records of one type with
``allOrNone: false`` and answers one UpsertResult per record, in order:
``{"id", "success", "errors": [{"statusCode", "message", "fields"}], "created"}`` (API-NOTES
§1.3, the REST guide's "Upsert Multiple Records Using sObject Collections"). Records not known
to exist go as ``POST /composite/sobjects`` (create, SaveResult without ``created``) instead, so
a create body is refused, never applied, by a record that does exist. ``POST /composite``
carries up to 25 subrequests, at most 5 of them sObject Collections or queries, run in order
and counted as one API call (§1.4). So the record chunks of a batch, parents first, travel
five per composite call: an order with its account, contact and lines is one call, and so is a
backlog of a hundred orders.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from dispatcher.core.errors import DeliveryError, RetryableError
from dispatcher.destinations.salesforce.api import SalesforceApi
from dispatcher.destinations.salesforce.plan import Key, RecordWrite
from dispatcher.destinations.salesforce.refusals import body_error, record_error
from dispatcher.mapping import Operation

CHUNK = 200  # records per sObject Collections request (§1.3)
PER_COMPOSITE = 5  # sObject Collections subrequests per composite request (§1.4)


@dataclass(frozen=True, slots=True)
class RecordResult:
    key: Key
    salesforce_id: str | None
    created: bool
    error: DeliveryError | None


def chunks(writes: Sequence[RecordWrite]) -> list[list[RecordWrite]]:
    """Runs of one object type and operation, at most ``CHUNK`` long, in the order given."""
    found: list[list[RecordWrite]] = []
    for write in writes:
        last = found[-1][0] if found else None
        if (
            last is not None
            and (last.object_name, last.operation) == (write.object_name, write.operation)
            and len(found[-1]) < CHUNK
        ):
            found[-1].append(write)
        else:
            found.append([write])
    return found


def calls(steps: list[list[RecordWrite]]) -> Iterator[list[list[RecordWrite]]]:
    """Chunks grouped ``PER_COMPOSITE`` at a time: one API call each."""
    for start in range(0, len(steps), PER_COMPOSITE):
        yield steps[start : start + PER_COMPOSITE]


async def upsert(api: SalesforceApi, steps: list[list[RecordWrite]]) -> list[RecordResult]:
    """Send up to five chunks in one call; a refused call raises its ``DeliveryError``."""
    if len(steps) == 1:
        body = await api.call(_method(steps[0]), _path(steps[0]), json=_records(steps[0]))
        return collection_results(steps[0], 200, body, api)
    subrequests = [
        {
            "method": _method(step),
            "url": api.settings.data_path + _path(step),
            "referenceId": f"chunk{index}",
            "body": _records(step),
        }
        for index, step in enumerate(steps)
    ]
    answer = await api.call(
        "POST", "/composite", json={"allOrNone": False, "compositeRequest": subrequests}
    )
    responses = {r.get("referenceId"): r for r in (answer or {}).get("compositeResponse", [])}
    results: list[RecordResult] = []
    for index, step in enumerate(steps):
        sub = responses.get(f"chunk{index}", {})
        results.extend(
            collection_results(step, int(sub.get("httpStatusCode", 500)), sub.get("body"), api)
        )
    return results


def _creates(step: list[RecordWrite]) -> bool:
    return step[0].operation is Operation.CREATE


def _method(step: list[RecordWrite]) -> str:
    return "POST" if _creates(step) else "PATCH"


def _path(step: list[RecordWrite]) -> str:
    first = step[0]
    if _creates(step):
        return "/composite/sobjects"
    return f"/composite/sobjects/{quote(first.object_name)}/{quote(first.external_id_field)}"


def _records(step: list[RecordWrite]) -> dict[str, Any]:
    return {"allOrNone": False, "records": [write.payload() for write in step]}


def collection_results(
    step: list[RecordWrite], status: int, body: Any, api: SalesforceApi
) -> list[RecordResult]:
    """Per-record results in request order; a refused subrequest fails every record of it."""
    pause = api.settings.daily_limit_pause_seconds
    if status >= 400 or not isinstance(body, list) or len(body) != len(step):
        error = (
            body_error(status, body, daily_pause=pause)
            if status >= 400
            else RetryableError(f"unexpected answer: {body!r:.200}", code="UNEXPECTED_ANSWER")
        )
        return [RecordResult(w.key, None, False, error) for w in step]
    results = []
    for write, result in zip(step, body, strict=True):
        if result.get("success"):
            created = _creates(step) or bool(result.get("created"))
            found = RecordResult(write.key, result.get("id"), created, None)
        else:
            error = record_error(result.get("errors") or [], daily_pause=pause)
            found = RecordResult(write.key, None, False, error)
        results.append(found)
    return results
