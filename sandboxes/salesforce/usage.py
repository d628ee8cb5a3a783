"""The org's daily API request counter, the ``Sforce-Limit-Info`` header and ``/limits``.

API-NOTES §1.8: every REST response but the versions root carries ``api-usage=USED/MAX``; past
the allocation calls get 403 REQUEST_LIMIT_EXCEEDED "TotalRequests Limit exceeded.". The real
counter is a rolling 24 hours; the sandbox resets at midnight UTC, which is what tests can see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass
class ApiUsage:
    allocation: int
    clock: Callable[[], datetime]
    used: int = 0
    day: date | None = field(default=None)

    def exhausted(self) -> bool:
        self._roll()
        return self.used >= self.allocation

    def count(self) -> None:
        self._roll()
        self.used += 1

    def header(self) -> str:
        return f"api-usage={self.used}/{self.allocation}"

    def _roll(self) -> None:
        today = self.clock().date()
        if self.day != today:
            self.day, self.used = today, 0


# A subset of the limits a Developer Edition org reports (sf_limits_response.json); only
# DailyApiRequests moves, the rest are there so clients that read several limits find them.
_FIXED_LIMITS = {
    "ConcurrentAsyncGetReportInstances": 200,
    "ConcurrentSyncReportRuns": 20,
    "DailyAsyncApexExecutions": 250000,
    "DailyBulkApiBatches": 15000,
    "DailyBulkV2QueryFileStorageMB": 976562,
    "DailyBulkV2QueryJobs": 10000,
    "DailyGenericStreamingApiEvents": 10000,
    "DailyStreamingApiEvents": 10000,
    "DailyWorkflowEmails": 405,
    "DataStorageMB": 5,
    "FileStorageMB": 20,
    "HourlyODataCallout": 1000,
    "HourlySyncReportRuns": 500,
    "MassEmail": 10,
    "SingleEmail": 15,
    "StreamingApiConcurrentClients": 20,
}


def limits_body(usage: ApiUsage) -> dict[str, Any]:
    body: dict[str, Any] = {name: {"Max": n, "Remaining": n} for name, n in _FIXED_LIMITS.items()}
    remaining = max(usage.allocation - usage.used, 0)
    body["DailyApiRequests"] = {"Max": usage.allocation, "Remaining": remaining}
    return dict(sorted(body.items()))
