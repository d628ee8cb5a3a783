"""The Order rules of the platform that no field flag expresses, read from the declared schema.

API-NOTES §1.9 (Object Reference for Order and OrderItem; Help, "Editing and Deletion
Considerations for Order Products"):

- an order is created with a Draft-category ``Status`` (the picklist value's category, as Setup
  shows it, is declared under ``categories`` in the schema file);
- once ``Status`` is in the Activated category, the order's account and price book cannot
  change, and order products cannot be added, edited or deleted by a user without the "Edit
  Activated Orders" permission, which an integration user does not get.

Salesforce's exact wording of these refusals is not documented; the code is the one the platform
uses for its built-in order integrity checks (FIELD_INTEGRITY_EXCEPTION, seen for Order dates
in public forum threads), the messages are ours.
"""

from __future__ import annotations

from typing import Any

from sandboxes.salesforce.errors import ApiError
from sandboxes.salesforce.schema import ObjectSpec, Schema
from sandboxes.salesforce.store import Record, Store

ORDER = "Order"
ORDER_ITEM = "OrderItem"
DRAFT = "Draft"
ACTIVATED = "Activated"
LOCKED_ORDER_FIELDS = ("AccountId", "Pricebook2Id")
CODE = "FIELD_INTEGRITY_EXCEPTION"


def order_errors(
    schema: Schema,
    store: Store,
    spec: ObjectSpec,
    values: dict[str, Any],
    existing: Record | None,
) -> list[ApiError]:
    """Refusals of a create (``existing`` None) or an update of an Order or an OrderItem."""
    if spec.name == ORDER:
        return _order(spec, values, existing)
    if spec.name == ORDER_ITEM and (existing is None or values):
        parent_id = values.get("OrderId") or (existing or {}).get("OrderId")
        if parent_id and activated(schema, store.get(ORDER, str(parent_id))):
            return [ApiError(CODE, "You can't add or edit products on an activated order.", ())]
    return []


def _order(spec: ObjectSpec, values: dict[str, Any], existing: Record | None) -> list[ApiError]:
    status = spec.field("Status")
    if status is None or not status.categories:
        return []
    if existing is None:
        value = values.get(status.storage, status.default)
        if status.category(value) != DRAFT:
            message = f"Status: choose a Draft-category value when you create an order, not {value}"
            return [ApiError(CODE, message, ("Status",))]
        return []
    if status.category(existing.get(status.storage)) != ACTIVATED:
        return []
    changed = [
        name
        for name in LOCKED_ORDER_FIELDS
        if (f := spec.field(name)) is not None
        and f.storage in values
        and values[f.storage] != existing.get(f.storage)
    ]
    if not changed:
        return []
    message = f"You can't change {', '.join(changed)} on an activated order."
    return [ApiError(CODE, message, tuple(changed))]


def activated(schema: Schema, order: Record | None) -> bool:
    spec = schema.get(ORDER)
    status = spec.field("Status") if spec else None
    if order is None or status is None:
        return False
    return status.category(order.get(status.storage)) == ACTIVATED


def delete_errors(schema: Schema, store: Store, spec: ObjectSpec, record: Record) -> list[ApiError]:
    """Order products of an activated order cannot be deleted."""
    if spec.name == ORDER_ITEM and activated(schema, store.get(ORDER, str(record.get("OrderId")))):
        return [ApiError(CODE, "You can't delete products of an activated order.", ())]
    return []
