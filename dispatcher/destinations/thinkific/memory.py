"""What the destination remembers of a Thinkific site, in PostgreSQL, across processes.

A returning customer's user id, the groups they were added to and the enrollments made for them
are kept in ``outbox.thinkific_users`` and ``outbox.thinkific_enrollments``; without them every
purchase would cost a user look-up (or a refused create) before the enrollment itself. The
order lines granted and taken back are kept in ``outbox.thinkific_lines``, so that no delivery
order turns a refunded line into access, nor takes away what another paid line gives. A batch
reads what it needs in two statements; each message writes back what it learnt.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from outbox.queries import query


@dataclass(frozen=True, slots=True)
class KnownUser:
    user_id: int
    groups: frozenset[str]


@dataclass(frozen=True, slots=True)
class KnownEnrollment:
    enrollment_id: int
    expiry_date: datetime | None
    message_id: int


@dataclass(frozen=True, slots=True)
class Granted:
    """An order line an enrollment write granted, with the end of access it paid for."""

    line: str
    expiry_date: datetime | None


@dataclass(frozen=True, slots=True)
class PaidAccess:
    expiry_date: datetime | None  # None: never expires


class SiteMemory:
    def __init__(self, pool: AsyncConnectionPool[Any], site: str) -> None:
        """``site`` names the Thinkific site (``ThinkificSettings.site``): ids are per site."""
        self._pool = pool
        self._site = site

    async def users(self, emails: Iterable[str]) -> dict[str, KnownUser]:
        """The remembered users among ``emails`` (lower case), by e-mail."""
        rows = await self._rows("thinkific_known_users", emails=sorted(set(emails)))
        return {
            email: KnownUser(int(user_id), frozenset(groups)) for email, user_id, groups in rows
        }

    async def enrollments(
        self, pairs: Iterable[tuple[int, int]]
    ) -> dict[tuple[int, int], KnownEnrollment]:
        """The remembered enrollments among ``(user_id, course_id)`` pairs."""
        wanted = sorted(set(pairs))
        rows = await self._rows(
            "thinkific_known_enrollments",
            user_ids=[user for user, _ in wanted],
            course_ids=[course for _, course in wanted],
        )
        return {
            (int(user), int(course)): KnownEnrollment(int(enrollment), expiry, int(message))
            for user, course, enrollment, expiry, message in rows
        }

    async def remember_user(self, email: str, user_id: int, groups: Sequence[str] = ()) -> None:
        await self._execute(
            "thinkific_remember_user", email=email, user_id=user_id, groups=list(groups)
        )

    async def forget_user(self, email: str) -> None:
        await self._execute("thinkific_forget_user", email=email)

    async def remember_enrollment(
        self,
        user_id: int,
        course_id: int,
        enrollment_id: int,
        expiry_date: datetime | None,
        message_id: int,
        line: Granted | None = None,
    ) -> None:
        """The enrollment as written now; ``line``, when the write granted an order line, is
        remembered with it in the same statement."""
        await self._execute(
            "thinkific_remember_enrollment",
            user_id=user_id,
            course_id=course_id,
            enrollment_id=enrollment_id,
            expiry_date=expiry_date,
            message_id=message_id,
            line=None if line is None else line.line,
            line_expiry=None if line is None else line.expiry_date,
        )

    async def revoked_lines(self, lines: Iterable[str]) -> frozenset[str]:
        """The order lines among ``lines`` whose access has been taken back on this site."""
        rows = await self._rows("thinkific_revoked_lines", lines=sorted(set(lines)))
        return frozenset(str(line) for (line,) in rows)

    async def revoke_line(self, line: str, message_id: int) -> None:
        await self._execute("thinkific_revoke_line", line=line, message_id=message_id)

    async def paid_until(self, user_id: int, course_id: int, line: str) -> PaidAccess | None:
        """The access the user's other paid lines of the course still give, or None when no
        other line is paid for."""
        rows = await self._rows(
            "thinkific_paid_lines", user_id=user_id, course_id=course_id, line=line
        )
        if not rows:
            return None
        ends = [end for (end,) in rows]
        return PaidAccess(None if None in ends else max(ends))

    async def forget_enrollment(self, enrollment_id: int) -> None:
        await self._execute("thinkific_forget_enrollment", enrollment_id=enrollment_id)

    async def _rows(self, name: str, **params: Any) -> list[tuple[Any, ...]]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(query(name), {"site": self._site, **params})
            rows: list[tuple[Any, ...]] = await cursor.fetchall()
        return rows

    async def _execute(self, name: str, **params: Any) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(query(name), {"site": self._site, "now": None, **params})
