"""Typed protocol errors with stable codes, and their OperationOutcome body.

Every error the service answers is one of these classes; ``cds_hooks.web`` maps them to HTTP
in one place. Messages are written by us, never copied from the request, so no patient data,
token or stack trace can reach a response or a log line.
"""

from __future__ import annotations

from typing import Any, ClassVar

ERROR_CODE_SYSTEM = "urn:sarcoma-cds:error-code"


class CdsError(Exception):
    """Base of all answered errors: an HTTP status, a stable code and a FHIR issue type."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal-error"
    issue_type: ClassVar[str] = "exception"
    default_message: ClassVar[str] = "The service could not process the request."

    def __init__(self, message: str | None = None, *, expression: str | None = None) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.expression = expression

    def to_operation_outcome(self) -> dict[str, Any]:
        return operation_outcome(self.code, self.message, self.issue_type, self.expression)


class InvalidJson(CdsError):
    status, code, issue_type = 400, "invalid-json", "structure"
    default_message = "The request body is not valid JSON."


class InvalidRequest(CdsError):
    status, code, issue_type = 400, "invalid-request", "invalid"
    default_message = "The request does not conform to CDS Hooks 2.0."


class HookMismatch(CdsError):
    status, code, issue_type = 400, "hook-not-served", "not-supported"
    default_message = "This service does not serve the requested hook."


class Unauthorized(CdsError):
    """401 with no reason in the body (best practice, spec item 55); the reason is logged."""

    status, code, issue_type = 401, "unauthorized", "security"
    default_message = "Authentication required."

    def __init__(self, reason: str = "unauthorized") -> None:
        super().__init__(self.default_message)
        self.reason = reason


class Forbidden(CdsError):
    status, code, issue_type = 403, "forbidden", "forbidden"
    default_message = "This client is not entitled to use this service."


class UnknownService(CdsError):
    status, code, issue_type = 404, "unknown-service", "not-found"
    default_message = "No CDS service with this id."


class NotFound(CdsError):
    status, code, issue_type = 404, "not-found", "not-found"
    default_message = "No such endpoint."


class MethodNotAllowed(CdsError):
    status, code, issue_type = 405, "method-not-allowed", "not-supported"
    default_message = "This method is not allowed on this endpoint."


class PrefetchUnavailable(CdsError):
    """Spec item 36: required data neither prefetched nor obtainable from fhirServer."""

    status, code, issue_type = 412, "prefetch-unavailable", "incomplete"
    default_message = "Required FHIR data was not prefetched and could not be fetched."


class PayloadTooLarge(CdsError):
    status, code, issue_type = 413, "payload-too-large", "too-long"
    default_message = "The request body is larger than this service accepts."


class UnsupportedMediaType(CdsError):
    status, code, issue_type = 415, "unsupported-media-type", "not-supported"
    default_message = "Send the request body as application/json."


class InternalError(CdsError):
    status, code, issue_type = 500, "internal-error", "exception"


class ServiceUnavailable(CdsError):
    status, code, issue_type = 503, "service-unavailable", "transient"
    default_message = "The service is not ready."


class DatabaseUnavailable(CdsError):
    """The database cannot be reached right now: retry after ``retry_after_s`` (idempotent)."""

    status, code, issue_type = 503, "database-unavailable", "transient"
    default_message = "The database is unavailable; retry later (the request is idempotent)."
    retry_after_s: ClassVar[int] = 5


class RequestTooCostly(CdsError):
    """One call needed more CPU than ``CDS_REQUEST_CPU_BUDGET_S`` allows; it was stopped so that
    it could not hold a thread (the same request would be stopped again: no Retry-After)."""

    status, code, issue_type = 503, "request-too-costly", "too-costly"
    default_message = (
        "The request needed more processing than this service allows for one call; it was "
        "stopped. Send less data (fewer or smaller resources)."
    )


def operation_outcome(
    code: str, message: str, issue_type: str = "exception", expression: str | None = None
) -> dict[str, Any]:
    """A FHIR R4 OperationOutcome carrying our stable error code (spec item 92)."""
    issue: dict[str, Any] = {
        "severity": "error",
        "code": issue_type,
        "details": {"coding": [{"system": ERROR_CODE_SYSTEM, "code": code}], "text": message},
        "diagnostics": message,
    }
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}
