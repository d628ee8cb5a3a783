"""How a stored record looks on the wire: API field names and an ``attributes`` block."""

from __future__ import annotations

from typing import Any

from sandboxes.salesforce.schema import FieldSpec, ObjectSpec
from sandboxes.salesforce.store import Record


def attributes(spec: ObjectSpec, record: Record, base: str) -> dict[str, str]:
    return {"type": spec.name, "url": f"{base}/sobjects/{spec.name}/{record['Id']}"}


def record_json(
    spec: ObjectSpec, record: Record, base: str, fields: tuple[FieldSpec, ...] | None = None
) -> dict[str, Any]:
    """``GET /sobjects/{T}/{id}`` and Collections retrieve (sf_collections_retrieve_response)."""
    shown = spec.fields if fields is None else fields
    return {
        "attributes": attributes(spec, record, base),
        **{field.name: record.get(field.storage) for field in shown},
    }
