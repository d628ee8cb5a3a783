"""Salesforce's two error envelopes, built in one place so every endpoint answers alike.

Top-level REST errors are an array of ``{message, errorCode, fields}``; per-record results in
sObject Collections use ``statusCode`` instead of ``errorCode`` (API-NOTES §0.4, §1.7).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ApiError:
    code: str
    message: str
    fields: tuple[str, ...] | None = None

    def top_level(self) -> dict[str, Any]:
        """Shape 1 of API-NOTES §1.7; ``fields`` is absent on errors that name no field."""
        body: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            body["fields"] = list(self.fields)
        return body

    def per_record(self) -> dict[str, Any]:
        """Shape 2 of API-NOTES §1.7: the key is ``statusCode`` and ``fields`` is always a list."""
        return {"statusCode": self.code, "message": self.message, "fields": list(self.fields or ())}


class RequestFailed(Exception):
    """A whole request is refused; the resource router turns it into a status and an error array."""

    def __init__(self, status: int, *errors: ApiError) -> None:
        super().__init__(errors[0].message if errors else str(status))
        self.status = status
        self.errors = errors

    def body(self) -> list[dict[str, Any]]:
        return [error.top_level() for error in self.errors]


NOT_FOUND = ApiError("NOT_FOUND", "The requested resource does not exist")
INVALID_SESSION = ApiError("INVALID_SESSION_ID", "Session expired or invalid")
DAILY_LIMIT = ApiError("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
CONCURRENT_LIMIT = ApiError("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
# The message of SERVER_UNAVAILABLE is not documented; only the code and the 503 are relied on.
SERVER_UNAVAILABLE = ApiError(
    "SERVER_UNAVAILABLE", "Server is temporarily unavailable, please try again later."
)
ROLLED_BACK = ApiError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone "
    "header",
)
# Quoted from sf_composite_allornone_failure.json (a capture from a v50.0 endpoint).
HALTED = ApiError(
    "PROCESSING_HALTED",
    "The transaction was rolled back since another operation in the same transaction failed.",
)


def not_found() -> RequestFailed:
    return RequestFailed(404, NOT_FOUND)


def malformed(message: str) -> RequestFailed:
    return RequestFailed(400, ApiError("MALFORMED_QUERY", message))


def json_parser_error(message: str) -> RequestFailed:
    return RequestFailed(400, ApiError("JSON_PARSER_ERROR", message))


def no_such_column(field: str, sobject: str) -> ApiError:
    """The message the brief and API-NOTES §1.7 quote for an unknown field in a write."""
    return ApiError("INVALID_FIELD", f"No such column '{field}' on sobject of type {sobject}")


def unable_to_lock(record_id: str) -> ApiError:
    return ApiError(
        "UNABLE_TO_LOCK_ROW",
        f"unable to obtain exclusive access to this record or 1 records: {record_id}",
        (),
    )
