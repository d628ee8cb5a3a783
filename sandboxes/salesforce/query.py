"""``/query``, ``/queryAll`` and query-more: run parsed SOQL over the store and page the answer.

Response shape from API-NOTES §1.5 and sf_queryall_response.json: ``{totalSize, done,
records[{attributes, ...}]}`` plus ``nextRecordsUrl`` only while ``done`` is false. Batches are
``query_batch_size`` records (default 2000); ``Sforce-Query-Options: batchSize=N`` asks for
N between 200 and 2000, never more than the sandbox's own size.
"""

from __future__ import annotations

import functools
import operator
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sandboxes.salesforce.errors import ApiError, RequestFailed, malformed
from sandboxes.salesforce.records import attributes
from sandboxes.salesforce.resources import Call, Reply, resource
from sandboxes.salesforce.schema import FieldSpec, ObjectSpec, Schema
from sandboxes.salesforce.soql import (
    Comparison,
    Condition,
    FieldRef,
    Junction,
    Query,
    error_at,
    parse,
)
from sandboxes.salesforce.state import Cursor
from sandboxes.salesforce.store import Record, Store
from sandboxes.salesforce.validation import SF_DATETIME


@dataclass(frozen=True, slots=True)
class Path:
    """``Product2.StockKeepingUnit`` on PricebookEntry: references to follow, then the leaf."""

    hops: tuple[tuple[FieldSpec, ObjectSpec], ...]
    leaf: FieldSpec

    def value(self, store: Store, record: Record | None) -> Any:
        for reference, target in self.hops:
            parent_id = None if record is None else record.get(reference.storage)
            record = None if parent_id is None else store.get(target.name, parent_id)
        return None if record is None else record.get(self.leaf.storage)


def _resolve(schema: Schema, query: Query, spec: ObjectSpec, ref: FieldRef) -> Path:
    *relationships, leaf_name = ref.path.split(".")
    hops, current = [], spec
    for name in relationships:
        reference = current.relationship(name)
        target = schema.get(reference.reference_to[0]) if reference else None
        if reference is None or target is None:
            raise _no_such_column(query, ref, current)
        hops.append((reference, target))
        current = target
    leaf = current.field(leaf_name)
    if leaf is None:
        raise _no_such_column(query, ref, current)
    return Path(tuple(hops), leaf)


def _no_such_column(query: Query, ref: FieldRef, spec: ObjectSpec) -> RequestFailed:
    message = (
        f"No such column '{ref.path.split('.')[-1]}' on entity '{spec.name}'. If you are "
        "attempting to use a custom field, be sure to append the '__c' after the custom field "
        "name. Please reference your WSDL or the describe call for the appropriate names."
    )
    return RequestFailed(400, ApiError("INVALID_FIELD", error_at(query.text, ref.pos, message)))


def run_query(call: Call, text: str, *, include_deleted: bool) -> list[dict[str, Any]]:
    schema, store = call.state.schema, call.state.store
    query = parse(text)
    spec = schema.get(query.sobject.path)
    if spec is None:
        message = f"sObject type '{query.sobject.path}' is not supported."
        raise RequestFailed(
            400, ApiError("INVALID_TYPE", error_at(text, query.sobject.pos, message))
        )
    resolve = functools.partial(_resolve, schema, query, spec)
    selected = [(ref, resolve(ref)) for ref in query.fields]
    test = _predicate(query, query.where, resolve, store)
    rows = [r for r in store.rows(spec.name, include_deleted=include_deleted) if test(r)]
    for ordering in reversed(query.order):
        path = resolve(ordering.field)
        nulls_high = ordering.nulls_last != ordering.descending
        key = functools.partial(_order_key, store, path, nulls_high)
        rows.sort(key=key, reverse=ordering.descending)
    rows = rows[: query.limit] if query.limit is not None else rows
    return [_shape(call, spec, row, selected) for row in rows]


def _order_key(store: Store, path: Path, nulls_high: bool, record: Record) -> tuple[int, Any]:
    value = path.value(store, record)
    if value is None:
        return (1 if nulls_high else -1, 0)
    return (0, value.casefold() if isinstance(value, str) else value)


def _shape(
    call: Call, spec: ObjectSpec, row: Record, selected: list[tuple[FieldRef, Path]]
) -> dict[str, Any]:
    """A result record; parent fields nest under the relationship name, null without a parent."""
    store, base = call.state.store, call.base
    shaped: dict[str, Any] = {"attributes": attributes(spec, row, base)}
    for _, path in selected:
        node: dict[str, Any] = shaped
        record: Record | None = row
        for reference, target in path.hops:
            name = reference.relationship_name or reference.name
            parent_id = None if record is None else record.get(reference.storage)
            record = None if parent_id is None else store.get(target.name, parent_id)
            if record is None:
                node[name] = None
                break
            node = node.setdefault(name, {"attributes": attributes(target, record, base)})
        else:
            node[path.leaf.name] = None if record is None else record.get(path.leaf.storage)
    return shaped


def _predicate(query: Query, condition: Condition | None, resolve: Any, store: Store) -> Any:
    if condition is None:
        return lambda _: True
    if isinstance(condition, Junction):
        parts = [_predicate(query, p, resolve, store) for p in condition.parts]
        combine = all if condition.op == "AND" else any
        return lambda r: combine(part(r) for part in parts)
    if not isinstance(condition, Comparison):
        inner = _predicate(query, condition.part, resolve, store)
        return lambda r: not inner(r)
    path: Path = resolve(condition.field)
    values = condition.value if isinstance(condition.value, tuple) else (condition.value,)
    wanted = [_literal(query, condition, path.leaf, v) for v in values]
    return lambda r: _compare(condition.op, _stored(path.leaf, path.value(store, r)), wanted)


def _literal(query: Query, condition: Comparison, field: FieldSpec, value: Any) -> Any:
    """Check a literal against the field's type, as SOQL does before running anything."""
    kind = field.type
    expected: type | tuple[type, ...] = str
    if kind in ("int", "double", "currency", "percent"):
        expected = float
    elif kind == "boolean":
        expected = bool
    elif kind == "datetime":
        expected = datetime
    elif kind == "date":
        expected = date
    if value is not None and type(value) is not expected:
        message = f"value of filter criterion for field '{field.name}' must be of type {kind}"
        raise malformed(error_at(query.text, condition.field.pos, message))
    if condition.op == "LIKE" and not isinstance(value, str):
        raise malformed(error_at(query.text, condition.field.pos, "LIKE needs a string"))
    if isinstance(value, str) and field.type in ("id", "reference"):
        return value[:15]
    return value.casefold() if isinstance(value, str) else value


def _stored(field: FieldSpec, value: Any) -> Any:
    if value is None:
        return None
    if field.type == "datetime":
        return datetime.strptime(value, SF_DATETIME).replace(tzinfo=UTC)
    if field.type == "date":
        return date.fromisoformat(value)
    if field.type in ("id", "reference"):
        return str(value)[:15]
    return value.casefold() if isinstance(value, str) else value


_ORDERING = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}


def _compare(op: str, actual: Any, wanted: list[Any]) -> bool:
    if op == "IN":
        return actual in wanted
    if op == "NOT IN":
        return actual not in wanted
    target = wanted[0]
    if op == "=":
        return bool(actual == target)
    if op == "!=":
        return bool(actual != target)
    if actual is None or target is None:
        return False
    if op == "LIKE":
        pattern = re.escape(target).replace("%", ".*").replace("_", ".")
        return re.fullmatch(pattern, str(actual), re.DOTALL) is not None
    return bool(_ORDERING[op](actual, target))


def _batch_size(call: Call) -> int:
    size = call.state.settings.query_batch_size
    options = call.headers.get("sforce-query-options", "")
    asked = re.search(r"batchSize\s*=\s*(\d+)", options)
    if asked:
        size = min(size, max(200, min(2000, int(asked.group(1)))))
    return size


def _page(call: Call, records: list[dict[str, Any]], total: int, batch: int) -> Reply:
    body: dict[str, Any] = {
        "totalSize": total,
        "done": len(records) <= batch,
        "records": records[:batch],
    }
    if len(records) > batch:
        locator = "01g" + secrets.token_hex(8)[:15]
        call.state.cursors[locator] = Cursor(records[batch:], batch)
        body["nextRecordsUrl"] = f"{call.base}/query/{locator}-{total - len(records) + batch}"
    return Reply(200, body)


def _query(call: Call, _: dict[str, str], *, include_deleted: bool = False) -> Reply:
    text = call.query.get("q")
    if not text:
        raise malformed("A query string has to be specified")
    records = run_query(call, text, include_deleted=include_deleted)
    return _page(call, records, len(records), _batch_size(call))


def _query_all(call: Call, params: dict[str, str]) -> Reply:
    return _query(call, params, include_deleted=True)


def _more(call: Call, params: dict[str, str]) -> Reply:
    locator, _, _offset = params["locator"].rpartition("-")
    cursor = call.state.cursors.pop(locator, None)
    if cursor is None:
        raise RequestFailed(400, ApiError("INVALID_QUERY_LOCATOR", "invalid query locator"))
    total = int(_offset) + len(cursor.records)
    return _page(call, cursor.records, total, cursor.batch_size)


RESOURCES = (
    resource("GET", "/query", "query", _query),
    resource("GET", "/queryAll", "queryAll", _query_all),
    resource("GET", "/query/{locator}", "query.more", _more),
    resource("GET", "/queryAll/{locator}", "query.more", _more),
)
