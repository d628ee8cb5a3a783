"""The conversions behind the transforms (``steps.py`` names and builds them).

A step takes the value so far and the record's scope and returns the next value. Every step
lets None through (absence is handled by ``default``, ``when`` and the required-field check),
except those that read several sources (``join``, ``first``) and ``map`` (whose ``default`` covers
null). A value a step cannot convert raises ``TransformError``; the field wraps it into a
``MappingError`` naming the object and field, and the message goes to dead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from dispatcher.mapping.paths import Getter, Scope

Step = Callable[[Any, Scope], Any]


class TransformError(ValueError):
    """A value this step cannot turn into what the field needs; permanent for the message."""


def value_key(value: Any) -> str:
    """The text a value map or condition compares: ``true``/``false`` for booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True, slots=True)
class ValueMap:
    """A storefront-to-destination value table; ``by_locale`` holds full tables per locale."""

    name: str
    values: Mapping[str, str]
    default: str | None
    by_locale: Mapping[str, Mapping[str, str]]
    locale: Getter | None

    def outputs(self) -> frozenset[str]:
        found = set(self.values.values())
        for table in self.by_locale.values():
            found.update(table.values())
        if self.default is not None:
            found.add(self.default)
        return frozenset(found)


@dataclass(frozen=True, slots=True)
class StepContext:
    """What a step may need at build time: the target's declared length and the value maps."""

    length: int | None
    value_maps: Mapping[str, ValueMap]


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise TransformError(f"expected text, got {value!r}")
    return value


def organisation_key(value: Any) -> str:
    """The one identity of an organisation's name, on every destination: trimmed and in lower
    case, so ``Northgate Clinic`` and `` northgate clinic`` are one Salesforce Account and one
    Thinkific group. It is what business Accounts were keyed by from the start, so no key an
    org already holds changes."""
    return text(value).strip().lower()


def to_string(value: Any) -> str:
    if isinstance(value, bool):
        return value_key(value)
    if isinstance(value, dict | list):
        raise TransformError(f"expected a single value, got {value!r}")
    return str(value)


def to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise TransformError(f"expected a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    number = to_decimal(value, None)
    if number != number.to_integral_value():
        raise TransformError(f"expected a whole number, got {value!r}")
    return int(number)


_UNITS = tuple(Decimal(1).scaleb(-places) for places in range(10))


def to_decimal(value: Any, scale: int | None) -> Decimal:
    """Exact decimal money: more decimal places than ``scale`` is an error, never a rounding."""
    try:
        number = Decimal(value) if type(value) is str else _number(value)
    except InvalidOperation:
        raise TransformError(f"expected a decimal number, got {value!r}") from None
    if not number.is_finite():
        raise TransformError(f"expected a finite number, got {value!r}")
    if scale is None:
        return number
    quantized = number.quantize(_UNITS[scale] if scale < len(_UNITS) else Decimal(1).scaleb(-scale))
    if quantized != number:
        raise TransformError(f"{value!r} has more than {scale} decimal places")
    return quantized


def _number(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise TransformError(f"expected a decimal number, got {value!r}")
    return value if isinstance(value, Decimal) else Decimal(str(value))


_TRUE = frozenset({"true", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "no", "n", "0", "off"})


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    key = value_key(value).strip().lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise TransformError(f"expected true or false, got {value!r}")


def to_datetime(value: Any) -> str:
    """ISO 8601 in UTC with milliseconds, the form both destinations parse without guessing."""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(text(value))
    except ValueError:
        raise TransformError(f"expected an ISO 8601 date and time, got {value!r}") from None
    if moment.tzinfo is None:
        raise TransformError(f"{value!r} has no time zone; events carry UTC offsets")
    if (
        isinstance(value, str)
        and len(value) == 25
        and value[10] == "T"
        and value.endswith("+00:00")
    ):
        # Events write whole-second UTC times; the parse above has validated the text, and
        # reusing it is four times faster than formatting the datetime again.
        return value[:19] + ".000Z"
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="milliseconds") + "Z"


def to_date(value: Any) -> str:
    """A calendar date; a date and time becomes its UTC date."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    written = text(value) if not isinstance(value, datetime) else None
    if written is not None and len(written) == 10:
        try:
            return date.fromisoformat(written).isoformat()
        except ValueError:
            raise TransformError(f"expected an ISO 8601 date, got {value!r}") from None
    return to_datetime(value)[:10]


def split_name(full: str) -> tuple[str, str]:
    """``"Ada King Lovelace"`` -> (``"Ada King"``, ``"Lovelace"``): the last word is the surname."""
    words = full.split()
    if not words:
        return "", ""
    return " ".join(words[:-1]), words[-1]


def join_parts(parts: Any, separator: str) -> str | None:
    if not isinstance(parts, list):
        parts = [parts]
    texts = [to_string(p).strip() for p in parts if p is not None and to_string(p).strip()]
    return separator.join(texts) if texts else None


def first_present(parts: Any) -> Any:
    if not isinstance(parts, list):
        return parts
    for part in parts:
        if part is not None and part != "":
            return part
    return None


def map_value(table: ValueMap, value: Any, locale: Any) -> Any:
    values = table.values
    if locale is not None and table.by_locale:
        key = str(locale).replace("-", "_")
        found = table.by_locale.get(key) or table.by_locale.get(key.partition("_")[0])
        values = found if found is not None else values
    if value is None:
        return table.default
    mapped = values.get(value_key(value))
    if mapped is None:
        if table.default is not None:
            return table.default
        known = ", ".join(sorted(values))
        raise TransformError(f"{value!r} is not in value map {table.name!r} (known: {known})")
    return mapped
