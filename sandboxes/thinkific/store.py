"""The site's mutable records: users, enrollments, groups, memberships and external orders.

Records are frozen values replaced on every change, so a response built from one can never be
altered by a later write. The store enforces the site's own invariants (one user per e-mail,
one enrollment per user and course) and counts enrollment writes per user and course, so a
test can prove that each purchase was enrolled exactly once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class ProfileValue:
    id: int
    definition_id: int
    value: str | None


@dataclass(frozen=True, slots=True)
class User:
    id: int
    created_at: datetime
    first_name: str
    last_name: str
    email: str
    roles: tuple[str, ...] = ()
    company: str | None = None
    bio: str | None = None
    headline: str | None = None
    avatar_url: str | None = None
    affiliate_code: str | None = None
    affiliate_commission: float | None = None
    affiliate_commission_type: str | None = None
    affiliate_payout_email: str | None = None
    external_source: str | None = None
    external_id: str | None = None
    provider: str | None = None
    has_password: bool = False
    profile: tuple[ProfileValue, ...] = ()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True, slots=True)
class Enrollment:
    id: int
    user_id: int
    course_id: int
    created_at: datetime
    updated_at: datetime
    started_at: datetime
    activated_at: datetime | None
    expiry_date: datetime | None
    percentage_completed: float = 0.0
    completed_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return self.expiry_date is not None and self.expiry_date <= now


@dataclass(frozen=True, slots=True)
class Group:
    id: int
    name: str
    token: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ExternalOrder:
    id: int
    user_id: int
    product_id: int
    payment_provider: str
    order_type: str
    transactions: tuple[dict[str, Any], ...] = ()


@dataclass
class EnrollmentWrites:
    created: int = 0
    updated: int = 0


@dataclass
class Store:
    users: dict[int, User] = field(default_factory=dict)
    enrollments: dict[int, Enrollment] = field(default_factory=dict)
    groups: dict[int, Group] = field(default_factory=dict)
    memberships: set[tuple[int, int]] = field(default_factory=set)  # (group id, user id)
    external_orders: dict[int, ExternalOrder] = field(default_factory=dict)
    writes: dict[tuple[int, int], EnrollmentWrites] = field(default_factory=dict)
    _ids: Counter[str] = field(default_factory=Counter)

    def next_id(self, noun: str) -> int:
        self._ids[noun] += 1
        return self._ids[noun]

    def user_by_email(self, email: str) -> User | None:
        wanted = email.strip().casefold()
        return next((u for u in self.users.values() if u.email.casefold() == wanted), None)

    def user_by_external_id(self, external_id: str, provider: str) -> User | None:
        found = (
            u for u in self.users.values() if (u.external_id, u.provider) == (external_id, provider)
        )
        return next(found, None)

    def put_user(self, user: User) -> User:
        self.users[user.id] = user
        return user

    def delete_user(self, user_id: int) -> None:
        """A deleted user takes their enrollments and memberships with them."""
        del self.users[user_id]
        for enrollment in [e for e in self.enrollments.values() if e.user_id == user_id]:
            del self.enrollments[enrollment.id]
        self.memberships = {m for m in self.memberships if m[1] != user_id}

    def enrollment_of(self, user_id: int, course_id: int) -> Enrollment | None:
        found = (
            e for e in self.enrollments.values() if (e.user_id, e.course_id) == (user_id, course_id)
        )
        return next(found, None)

    def add_enrollment(self, enrollment: Enrollment) -> Enrollment:
        self.enrollments[enrollment.id] = enrollment
        self._writes(enrollment).created += 1
        return enrollment

    def update_enrollment(self, enrollment: Enrollment, **changes: Any) -> Enrollment:
        updated = replace(enrollment, **changes)
        self.enrollments[updated.id] = updated
        self._writes(updated).updated += 1
        return updated

    def group_by_name(self, name: str) -> Group | None:
        """The group of exactly this name, as ``POST /group_users`` matches ``group_names``."""
        return next((g for g in self.groups.values() if g.name == name), None)

    def group_named_like(self, name: str) -> Group | None:
        """A group whose name differs from ``name`` at most in case: a name is taken by it."""
        wanted = name.casefold()
        return next((g for g in self.groups.values() if g.name.casefold() == wanted), None)

    def group_ids_of(self, user_id: int) -> set[int]:
        return {group_id for group_id, member in self.memberships if member == user_id}

    def rows(self, records: dict[int, Any]) -> Iterator[Any]:
        """Records in id order, the order every list endpoint answers in."""
        return (records[key] for key in sorted(records))

    def _writes(self, enrollment: Enrollment) -> EnrollmentWrites:
        return self.writes.setdefault(
            (enrollment.user_id, enrollment.course_id), EnrollmentWrites()
        )
