"""The ``thinkific`` destination: a course bought at checkout unlocks at once, idempotently,
within the site's rate limit shared by every dispatcher (docs/thinkific.md).

``build.build(context)`` is what the registry calls for a ``type: thinkific`` entry of the
configuration; the options it reads are in ``settings``.
"""

from __future__ import annotations

from dispatcher.destinations.thinkific.destination import ThinkificDestination
from dispatcher.destinations.thinkific.profile import CUSTOMER_UPDATED
from dispatcher.destinations.thinkific.request import ENROLLMENT_REQUESTED, SEAT_ASSIGNED
from dispatcher.destinations.thinkific.revoke import ENROLLMENT_REVOKED
from dispatcher.destinations.thinkific.settings import (
    PUBLIC_API,
    ThinkificOptions,
    ThinkificSettings,
)

__all__ = [
    "CUSTOMER_UPDATED",
    "ENROLLMENT_REQUESTED",
    "ENROLLMENT_REVOKED",
    "PUBLIC_API",
    "SEAT_ASSIGNED",
    "ThinkificDestination",
    "ThinkificOptions",
    "ThinkificSettings",
]
