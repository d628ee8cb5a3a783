"""From an outbox message to what must exist on the site: a user, a course enrollment and, for
an organisation's licence, the user's membership of the organisation's group.

The field mapping (``mappings/thinkific.yaml``) decides every value: the user's names, the
group's name, the dates. Two events are delivered:

- ``enrollment.requested``: a course bought at checkout (docs/events.md);
- ``seat.assigned``: a seat of an organisation's licence given to a person later
  (docs/thinkific.md). Unless the mapping lists this event itself, its seat holder is mapped
  as the customer of an ``enrollment.requested`` message, so one mapping section serves both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dispatcher.core.destination import Message
from dispatcher.destinations.thinkific.client import parse_time
from dispatcher.mapping import MappedMessage, MappingError, Mappings, Operation, organisation_key

ENROLLMENT_REQUESTED = "enrollment.requested"
SEAT_ASSIGNED = "seat.assigned"


@dataclass(frozen=True, slots=True)
class EnrollmentRequest:
    message_id: int
    tried_before: bool
    email: str
    user_fields: Mapping[str, Any]  # a CreateUserRequest body
    course_id: int
    activated_at: datetime | None
    expiry_date: datetime | None  # None: the enrollment never expires
    group: str | None  # the organisation's group, for a licence bought by one
    line: str | None = None  # the order line bought (``enrollment_id`` of the payload)

    @property
    def group_key(self) -> str | None:
        """The group's identity, the one Salesforce keys the organisation's Account by."""
        return None if self.group is None else organisation_key(self.group)


def enrollment_request(message: Message, mappings: Mappings, destination: str) -> EnrollmentRequest:
    """Map the message; a payload that cannot be mapped raises ``MappingError`` (permanent)."""
    event_type, payload = message.event_type, message.payload
    known = mappings.destinations.get(destination)
    events = known.events if known else {}
    if event_type == SEAT_ASSIGNED and SEAT_ASSIGNED not in events:
        event_type, payload = ENROLLMENT_REQUESTED, as_enrollment_requested(payload)
    mapped = apply_mapping(mappings, destination, event_type, payload)
    return _from_records(message, mapped, line_of(payload))


def apply_mapping(
    mappings: Mappings, destination: str, event_type: str, payload: Mapping[str, Any]
) -> MappedMessage:
    """The records of a message; a destination named otherwise than ``thinkific`` without a
    mapping file of its own uses the shipped ``thinkific`` one."""
    name = destination if destination in mappings.destinations else "thinkific"
    return mappings.apply(name, event_type, payload)


def as_enrollment_requested(seat: Mapping[str, Any]) -> dict[str, Any]:
    """A ``seat.assigned`` payload in the shape of an ``enrollment.requested`` one: the seat
    holder is the customer, the organisation stays the group."""
    holder = seat.get("seat_holder")
    if not isinstance(holder, Mapping):
        raise MappingError("seat.assigned", "seat_holder", "the payload has no seat holder")
    organisation = seat.get("organisation")
    return {
        "enrollment_id": seat.get("seat_id"),
        "customer": {**holder, "organisation": organisation, "guest": False},
        "order_number": seat.get("order_number"),
        "course_id": seat.get("course_id"),
        "seats": 1,
        "organisation": organisation,
        "product": seat.get("product"),
        "activated_at": seat.get("activated_at"),
        "expiry_date": seat.get("expiry_date"),
    }


def line_of(payload: Mapping[str, Any]) -> str | None:
    """The order line a message enrolls or takes back: ``enrollment_id``, which an
    ``enrollment.requested`` and the ``enrollment.revoked`` of the same line share
    (docs/events.md). An identity, not a field value, so it is read from the event itself."""
    line = payload.get("enrollment_id")
    return None if line is None else str(line)


def _from_records(message: Message, mapped: MappedMessage, line: str | None) -> EnrollmentRequest:
    records = {record.object_name: record for record in mapped.records}
    user, enrollment = records.get("user"), records.get("enrollment")
    if user is None or enrollment is None:
        problem = "the mapping gives no user or no enrollment for this event"
        raise MappingError(mapped.event_type, "", problem)
    membership = records.get("group_user") or records.get("group")
    fields = enrollment.fields
    return EnrollmentRequest(
        message_id=message.id,
        tried_before=message.attempt > 1,
        email=str(user.external_id).strip().lower(),
        user_fields=user.body(Operation.CREATE),
        course_id=int(enrollment.external_id),
        activated_at=parse_time(fields.get("activated_at")),
        expiry_date=parse_time(fields.get("expiry_date")),
        group=None if membership is None else str(membership.external_id),
        line=line,
    )
