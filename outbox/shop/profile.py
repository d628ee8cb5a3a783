"""A customer's profile changed in the storefront: write it and publish ``customer.updated``.

Only the fields the storefront owns can be changed here (name, locale, marketing consent,
postal address, contact preferences); the e-mail is the customer's key, and fields Salesforce
users master (``owner: salesforce`` in ``mappings/salesforce.yaml``, such as the e-mail opt-out)
never travel from the storefront. The message carries only what changed: one for Salesforce,
and one for Thinkific when a name it keeps changed (``outbox.shop.aftersale_events``), in one
statement. While several changes of one customer wait in the outbox, the database keeps only
the newest per destination, holding all their changes merged
(``outbox.supersede_waiting_profile_changes``, revision 0005).

A call that changes nothing (a retry, or the values the profile already has) publishes nothing
and returns ``replayed=True``: the profile's state is the call's idempotency key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from outbox.publish import message_batch, message_ids
from outbox.queries import query
from outbox.shop import errors
from outbox.shop.aftersale_events import customer_updated
from outbox.shop.events import CustomerRow

ADDRESS_KEYS = ("line1", "line2", "city", "postal_code", "region", "country")
CHANNELS = ("email", "phone", "post")
PROFILE_FIELDS = ("first_name", "last_name", "locale", "marketing_consent", "address",
                  "preferences")  # fmt: skip
_LOCALE = re.compile(r"[a-z]{2}(_[A-Z]{2})?")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_MAX_TEXT = 1000


@dataclass(frozen=True, slots=True)
class ProfileChange:
    """The profile's version after the call and the fields it changed."""

    customer_id: int
    version: int
    changes: Mapping[str, Any] = field(default_factory=dict)
    message_ids: tuple[int, ...] = ()
    replayed: bool = False


def check_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Each change as the profile keeps it; an error names a field that cannot change so."""
    return {name: _checked(name, value) for name, value in changes.items()}


def apply_changes(
    conn: psycopg.Connection[Any], email: str, given: Mapping[str, Any], at: datetime
) -> ProfileChange:
    """Savepoint and lock the profile, then write and publish what changed; the caller
    (``outbox.shop.aftersale.update_customer``) rolls back to the savepoint on any error."""
    return _update(conn, email, given, at)


def _update(
    conn: psycopg.Connection[Any], email: str, given: Mapping[str, Any], at: datetime
) -> ProfileChange:
    with conn.pipeline():
        conn.execute(query("aftersale_savepoint"))
        locked = conn.execute(query("lock_customer"), {"email": email.strip()})
    row = locked.fetchone()
    if row is None:
        raise errors.UnknownCustomerError(email)
    current = _profile(row)
    wanted = {**current, **given}
    if "preferences" in given:
        wanted["preferences"] = {**current["preferences"], **given["preferences"]}
    changed = {name: wanted[name] for name in PROFILE_FIELDS if wanted[name] != current[name]}
    version = int(row[15])
    if not changed:
        conn.execute(query("aftersale_release"))
        return ProfileChange(int(row[0]), version, replayed=True)
    customer = CustomerRow(
        int(row[0]), row[1], wanted["first_name"], wanted["last_name"], row[4],
        wanted["locale"], wanted["marketing_consent"], row[7],
    )  # fmt: skip
    batch = message_batch(customer_updated(customer, changed, version + 1, at), built=True)
    with conn.pipeline():
        conn.execute(query("update_profile"), _row_params(customer.id, wanted, at))
        inserted = conn.execute(query("publish_many"), batch.params)
        conn.execute(query("aftersale_release"))
    ids = message_ids(inserted.fetchall(), batch)
    return ProfileChange(customer.id, version + 1, changed, tuple(ids))


def _profile(row: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "first_name": row[2],
        "last_name": row[3],
        "locale": row[5],
        "marketing_consent": row[6],
        "address": dict(zip(ADDRESS_KEYS, row[8:14], strict=True)),
        "preferences": dict(row[14]),
    }


def _row_params(customer_id: int, profile: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    address = profile["address"]
    return {
        "id": customer_id,
        "first_name": profile["first_name"],
        "last_name": profile["last_name"],
        "locale": profile["locale"],
        "marketing_consent": profile["marketing_consent"],
        **{("address_" + k if k.startswith("line") else k): address[k] for k in ADDRESS_KEYS},
        "preferences": Jsonb(profile["preferences"]),
        "at": at,
    }


def _checked(name: str, value: Any) -> Any:
    """The value as the profile keeps it, or an error naming the field and what it accepts."""
    if name not in PROFILE_FIELDS:
        raise errors.InvalidProfileChangeError(
            f"{name!r} is not a profile field the storefront owns; change one of "
            f"{', '.join(PROFILE_FIELDS)} (the e-mail is the customer's key)"
        )
    if name in ("first_name", "last_name"):
        return _name(name, value)
    if name == "locale":
        if not isinstance(value, str) or not _LOCALE.fullmatch(value):
            raise errors.InvalidProfileChangeError(f"locale {value!r} is not like en or en_US")
        return value
    if name == "marketing_consent":
        if not isinstance(value, bool):
            raise errors.InvalidProfileChangeError("marketing_consent must be true or false")
        return value
    return _address(value) if name == "address" else _preferences(value)


def _name(name: str, value: Any) -> str:
    if not isinstance(value, str) or (name == "last_name" and not value.strip()):
        raise errors.InvalidProfileChangeError(
            f"{name} must be text; last_name cannot be empty (Salesforce requires it)"
        )
    return _storable(name, value).strip()


def _storable(name: str, value: str) -> str:
    if len(value) > _MAX_TEXT or _CONTROL.search(value):
        raise errors.InvalidProfileChangeError(
            f"{name} must be at most {_MAX_TEXT} characters with no control characters"
        )
    return value


def _address(value: Any) -> dict[str, str | None]:
    """A whole postal address; keys left out are cleared."""
    if not isinstance(value, Mapping) or set(value) - set(ADDRESS_KEYS):
        raise errors.InvalidProfileChangeError(
            f"address must be a mapping of {', '.join(ADDRESS_KEYS)}"
        )
    if any(v is not None and not isinstance(v, str) for v in value.values()):
        raise errors.InvalidProfileChangeError("address values must be text or None")
    for key, item in value.items():
        if item is not None:
            _storable(f"address.{key}", item)
    return {key: (value.get(key) or None) for key in ADDRESS_KEYS}


def _preferences(value: Any) -> dict[str, Any]:
    """Preferences given are merged into those the customer already has."""
    if not isinstance(value, Mapping) or set(value) - {"newsletter", "contact_channel"}:
        raise errors.InvalidProfileChangeError(
            "preferences takes newsletter (true or false) and contact_channel "
            f"({', '.join(CHANNELS)} or None)"
        )
    if "newsletter" in value and not isinstance(value["newsletter"], bool):
        raise errors.InvalidProfileChangeError("preferences.newsletter must be true or false")
    if value.get("contact_channel") not in (*CHANNELS, None):
        raise errors.InvalidProfileChangeError(
            f"preferences.contact_channel must be one of {', '.join(CHANNELS)} or None"
        )
    return dict(value)
