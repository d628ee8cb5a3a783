"""Page and limit on every list endpoint, and the ``meta.pagination`` block of the answer.

The OpenAPI ``Meta``/``Pagination`` schemas name ``current_page``, ``next_page``,
``prev_page``, ``total_pages``, ``total_items`` and ``entries_info``; ``next_page`` is null on
the last page (API-NOTES §2.1). ``prev_page`` null on the first page and ``entries_info`` of
an empty list (``"0-0 of 0"``) are assumptions in the same style.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

DEFAULT_LIMIT = 25
MAX_LIMIT = 250


@dataclass(frozen=True, slots=True)
class Page:
    number: int
    limit: int

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Page:
        """Defaults for missing or unreadable values; a limit above 250 is capped at 250."""
        number = _positive(query.get("page"), 1)
        limit = min(_positive(query.get("limit"), DEFAULT_LIMIT), MAX_LIMIT)
        return cls(number, limit)

    def answer(self, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
        total = len(items)
        total_pages = -(-total // self.limit)
        first = (self.number - 1) * self.limit
        shown = list(items[first : first + self.limit])
        info = f"{first + 1}-{first + len(shown)} of {total}" if shown else f"0-0 of {total}"
        pagination = {
            "current_page": self.number,
            "next_page": self.number + 1 if self.number < total_pages else None,
            "prev_page": self.number - 1 if self.number > 1 else None,
            "total_pages": total_pages,
            "total_items": total,
            "entries_info": info,
        }
        return {"items": shown, "meta": {"pagination": pagination}}


def _positive(raw: str | None, default: int) -> int:
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        return default
    return value if value >= 1 else default


def paged(request: Request, rows: Sequence[dict[str, Any]]) -> Response:
    """A list endpoint's answer: the requested page of ``rows`` with its ``meta``."""
    return JSONResponse(Page.from_query(request.query_params).answer(rows))
