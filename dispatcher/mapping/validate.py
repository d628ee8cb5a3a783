"""Checks every record passes before a write, built from the declared schema and the rules.

The destination would refuse these records anyway, but only after an API call from a limited
daily budget and with a less precise message. Failing here names the object, the field and the
problem, and the caller sends the message to dead without spending a call. These are the field
checks; the section's generated function (``codegen.py``) runs them and then the record's
required-field and business-rule checks, once per record.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from dispatcher.mapping.schema import NUMBER_TYPES, TEXT_TYPES, FieldSchema, FieldType

Check = Callable[[Any], str | None]

_STRING_TYPES = TEXT_TYPES | {FieldType.PICKLIST, FieldType.MULTIPICKLIST, FieldType.ID}

GUARD_NAMES: dict[str, Any] = {"_NUMBERS": frozenset({int, Decimal})}
"""The names ``check_guard`` templates use besides builtins."""


def field_check(field: FieldSchema) -> Check:
    """The checks the declared field implies, fused into one function."""
    if field.type in _STRING_TYPES or field.type is FieldType.REFERENCE:
        return _text_check(field)
    if field.type is FieldType.BOOLEAN:
        return lambda v: None if v is None or isinstance(v, bool) else f"{v!r} is not true or false"
    if field.type in NUMBER_TYPES:
        return _number_check(field)
    if field.type in (FieldType.DATE, FieldType.DATETIME):
        kind = field.type.value
        return lambda v: (
            None
            if v is None or isinstance(v, str)
            else f"{v!r} is not a {kind}; add the {kind} transform"
        )
    return lambda v: None


def check_guard(field: FieldSchema) -> str | None:
    """A Python expression template (``{v}`` is the value, never null) that is true only when
    ``field_check(field)`` would pass, for the generated section to skip the call in the common
    case; None when there is no cheap test."""
    if field.type in _STRING_TYPES or field.type is FieldType.REFERENCE:
        if field.restricted:
            return None
        if field.length is None:
            return "type({v}) is str"
        return f"type({{v}}) is str and len({{v}}) <= {int(field.length):d}"
    if field.type is FieldType.BOOLEAN:
        return "type({v}) is bool"
    if field.type in (FieldType.DATE, FieldType.DATETIME):
        return "type({v}) is str"
    if field.type in NUMBER_TYPES:
        kinds = "type({v}) is int" if field.type is FieldType.INT else "type({v}) in _NUMBERS"
        if field.precision is None:
            return kinds
        limit = 10 ** (field.precision - (field.scale or 0))
        return f"{kinds} and -{limit:d} < {{v}} < {limit:d}"
    return None


def _text_check(field: FieldSchema) -> Check:
    length = field.length
    allowed = frozenset(field.picklist) if field.restricted else None
    choices = ", ".join(field.picklist)

    def check(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            return f"{value!r} is not text; add the string transform"
        if length is not None and len(value) > length:
            return f"is {len(value)} characters long; the field holds {length} (add truncate)"
        if allowed is not None and value not in allowed:
            return f"{value!r} is not an allowed value of the restricted picklist ({choices})"
        return None

    return check


def _number_check(field: FieldSchema) -> Check:
    whole = field.type is FieldType.INT
    digits = limit = None
    if field.precision is not None:
        digits = field.precision - (field.scale or 0)
        limit = 10**digits

    def check(value: Any) -> str | None:
        kind = type(value)
        if kind is int or (kind is Decimal and not whole):  # what decimal and int produce
            return None if limit is None or abs(value) < limit else _too_big(value, digits)
        if value is None:
            return None
        if kind is bool or not isinstance(value, int | Decimal | float):
            return f"{value!r} is not a number; add the decimal or int transform"
        if whole and not isinstance(value, int):
            return f"{value!r} is not a whole number; add the int transform"
        if limit is not None and abs(value) >= limit:
            return _too_big(value, digits)
        return None

    return check


def _too_big(value: Any, digits: int | None) -> str:
    return f"{value} has more than {digits} digits before the decimal point"
