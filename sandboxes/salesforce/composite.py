"""``/composite`` and ``/composite/graph``: several subrequests in one call, with references.

API-NOTES §1.4. Subrequests run through the same router as direct calls. ``@{ref.path}``
(``@{refAccount.id}``, ``@{refQuery.records[0].Id}``) is replaced in the url and the body. With
``allOrNone`` a failure rolls everything back and every other subrequest answers 400
PROCESSING_HALTED, as the capture in sf_composite_allornone_failure.json shows. A graph is
always all-or-none. The whole request counts as one API call.

sObject Collections inside a composite (the REST API guide, "allOrNone Parameters in Composite
and Collections Requests", resources_composite_allornone.htm): a composite's ``allOrNone: true``
applies to each Collections subrequest whatever its own flag says, so one record refused there
rolls back the whole composite; with the composite's ``allOrNone: false`` each Collections
subrequest keeps its own flag. At most five of the 25 subrequests may be sObject Collections or
query operations (the guide's Composite resource page, resources_composite_composite.htm).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sandboxes.salesforce.errors import HALTED, ApiError, RequestFailed
from sandboxes.salesforce.resources import Call, Reply, resource

MAX_SUBREQUESTS = 25
MAX_COLLECTIONS_OR_QUERIES = 5
_COLLECTIONS = re.compile(r"^/services/data/v\d+\.\d/composite/sobjects(?:[/?]|$)")
_QUERIES = re.compile(r"^/services/data/v\d+\.\d/query(?:All)?(?:[/?]|$)")
MAX_GRAPHS = 75
MAX_GRAPH_NODES = 500
MAX_FAILED_GRAPHS = 14
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])+)\}")
_VERSIONED = re.compile(r"^/services/data/v(\d+\.\d)(/.*)$")
_REFERENCE_ID = re.compile(r"^[A-Za-z0-9_]+$")


class _Unresolved(Exception):
    pass


def _limit(message: str) -> RequestFailed:
    # The error code for a request over a composite limit is not documented in what was found;
    # the sandbox answers a 400 with this code and a message naming the limit.
    return RequestFailed(400, ApiError("LIMIT_EXCEEDED", message))


def _subrequests(raw: Any, limit: int) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not all(isinstance(s, dict) for s in raw):
        raise RequestFailed(400, ApiError("JSON_PARSER_ERROR", "compositeRequest must be a list"))
    if len(raw) > limit:
        raise _limit(f"Exceeded max limit of subrequests: {limit}")
    seen: set[str] = set()
    for sub in raw:
        reference = sub.get("referenceId")
        if (
            not isinstance(reference, str)
            or not _REFERENCE_ID.match(reference)
            or reference in seen
        ):
            message = f"Invalid referenceId: {reference}"
            raise RequestFailed(400, ApiError("INVALID_INPUT", message))
        seen.add(reference)
    return raw


def run(call: Call, subrequests: list[dict[str, Any]], all_or_none: bool) -> tuple[list[Any], bool]:
    """Run subrequests in order; the bool says whether every one succeeded."""
    store = call.state.store
    savepoint = store.savepoint()
    results: dict[str, Any] = {}
    responses: list[dict[str, Any]] = []
    for index, sub in enumerate(subrequests):
        response = _one(call, sub, results, all_or_none)
        responses.append(response)
        if _failed(response) and all_or_none:
            store.rollback(savepoint)
            return _halted(responses, subrequests[index + 1 :]), False
    store.release()
    return responses, not any(_failed(r) for r in responses)


def _failed(response: dict[str, Any]) -> bool:
    """A subrequest refused, or a Collections subrequest with a record refused (it answers 200
    with one result per record)."""
    if response["httpStatusCode"] >= 400:
        return True
    body = response["body"]
    return isinstance(body, list) and any(
        isinstance(r, dict) and r.get("success") is False for r in body
    )


def _one(
    call: Call, sub: dict[str, Any], results: dict[str, Any], all_or_none: bool = False
) -> dict[str, Any]:
    reference = sub["referenceId"]
    try:
        url = _resolve(str(sub.get("url", "")), results)
        body = _resolve_json(sub.get("body"), results)
    except _Unresolved as missing:
        return _response(reference, Reply(400, [_invalid_reference(str(missing)).top_level()]))
    if all_or_none and _COLLECTIONS.match(url) and isinstance(body, dict):
        body = {**body, "allOrNone": True}  # the composite's flag overrides the subrequest's
    reply = _dispatch(call, str(sub.get("method", "GET")).upper(), url, body)
    if reply.status < 400:
        results[reference] = reply.body
    return _response(reference, reply)


def _invalid_reference(expression: str) -> ApiError:
    message = f"Invalid reference specified. No value for {expression} found."
    return ApiError(HALTED.code, message)


def _dispatch(call: Call, method: str, url: str, body: Any) -> Reply:
    parts = urlsplit(url)
    versioned = _VERSIONED.match(parts.path)
    if versioned is None:
        return Reply(400, [ApiError("INVALID_INPUT", f"Invalid subrequest url: {url}").top_level()])
    sub = replace(
        call, method=method, path=versioned.group(2), version=versioned.group(1),
        query=dict(parse_qsl(parts.query)), body=body,
    )  # fmt: skip
    call.state.calls["composite/" + call.router.name(method, sub.path)] += 1
    return call.router.dispatch(sub)


def _response(reference: str, reply: Reply) -> dict[str, Any]:
    return {
        "body": reply.body,
        "httpHeaders": dict(reply.headers),
        "httpStatusCode": reply.status,
        "referenceId": reference,
    }


def _halted(done: list[dict[str, Any]], skipped: list[dict[str, Any]]) -> list[Any]:
    """After the last of ``done`` failed: it keeps its own answer, the others are halted."""
    halted = [HALTED.top_level()]
    rolled = [
        r
        if r["httpStatusCode"] >= 400 or index == len(done) - 1
        else {**r, "body": halted, "httpHeaders": {}, "httpStatusCode": 400}
        for index, r in enumerate(done)
    ]
    never = [_response(s["referenceId"], Reply(400, halted)) for s in skipped]
    return rolled + never


def _resolve(text: str, results: dict[str, Any]) -> str:
    return _REFERENCE.sub(lambda m: str(_lookup(m, results)), text)


def _resolve_json(value: Any, results: dict[str, Any]) -> Any:
    if value is None:
        return None
    return json.loads(_resolve(json.dumps(value), results))


def _lookup(match: re.Match[str], results: dict[str, Any]) -> Any:
    if match.group(1) not in results:
        raise _Unresolved(match.group(0))
    value: Any = results[match.group(1)]
    for step in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", match.group(2)):
        try:
            value = value[step[0]] if step[0] else value[int(step[1])]
        except (KeyError, IndexError, TypeError):
            raise _Unresolved(match.group(0)) from None
    return value


def _composite(call: Call, _: dict[str, str]) -> Reply:
    body = call.json_object()
    subrequests = _subrequests(body.get("compositeRequest"), MAX_SUBREQUESTS)
    urls = [str(s.get("url", "")) for s in subrequests]
    heavy = [u for u in urls if _COLLECTIONS.match(u) or _QUERIES.match(u)]
    if len(heavy) > MAX_COLLECTIONS_OR_QUERIES:
        raise _limit(
            f"Exceeded max limit of sObject Collections or query subrequests: "
            f"{MAX_COLLECTIONS_OR_QUERIES}"
        )
    responses, _ok = run(call, subrequests, bool(body.get("allOrNone", False)))
    return Reply(200, {"compositeResponse": responses})


def _graph(call: Call, _: dict[str, str]) -> Reply:
    graphs = call.json_object().get("graphs")
    if not isinstance(graphs, list) or not all(isinstance(g, dict) for g in graphs):
        raise RequestFailed(400, ApiError("JSON_PARSER_ERROR", "graphs must be a list"))
    if len(graphs) > MAX_GRAPHS:
        raise _limit(f"Exceeded max limit of graphs: {MAX_GRAPHS}")
    nodes = [_subrequests(g.get("compositeRequest"), MAX_GRAPH_NODES) for g in graphs]
    if sum(len(n) for n in nodes) > MAX_GRAPH_NODES:
        raise _limit(f"Exceeded max limit of nodes: {MAX_GRAPH_NODES}")
    answers, failures = [], 0
    for graph, subrequests in zip(graphs, nodes, strict=True):
        if failures >= MAX_FAILED_GRAPHS:
            responses, ok = _halted([], subrequests), False
        else:
            responses, ok = run(call, subrequests, all_or_none=True)
        failures += not ok
        answers.append(
            {
                "graphId": graph.get("graphId"),
                "graphResponse": {"compositeResponse": responses},
                "isSuccessful": ok,
            }
        )
    return Reply(200, {"graphs": answers})


RESOURCES = (
    resource("POST", "/composite", "composite", _composite),
    resource("POST", "/composite/graph", "composite.graph", _graph),
)
