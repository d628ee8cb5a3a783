"""Record ids that look like Salesforce's: a 3-character key prefix, 15 characters, a checksum."""

from __future__ import annotations

import string

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_CHECKSUM = string.ascii_uppercase + "012345"

STANDARD_PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "Product2": "01t",
    "Pricebook2": "01s",
    "PricebookEntry": "01u",
    "Order": "801",
    "OrderItem": "802",
}


def with_checksum(id15: str) -> str:
    """Append the case-safe suffix, so ids survive case-blind systems."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if char.isupper():
                bits |= 1 << position
        suffix += _CHECKSUM[bits]
    return id15 + suffix


def make_id(prefix: str, number: int, pod: str = "Sb") -> str:
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
    return with_checksum(prefix + pod + digits.rjust(10, "0"))


def custom_prefix(index: int) -> str:
    """Custom objects get ``a00``, ``a01``, … in the order the schema declares them."""
    return "a" + _BASE62[index // 62] + _BASE62[index % 62]


def looks_like_id(value: str) -> bool:
    return len(value) in (15, 18) and value.isalnum()
