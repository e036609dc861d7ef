"""problem+json (RFC 9457) for every error: domain errors, HTTP-layer refusals and the framework's own.

Every error body is {type, title, status, detail, code} (+ errors [{field, message}] for validation), so a client
branches on `code` alone. A 500 says nothing about its cause; the cause goes to the log under the request id.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from domain.errors import (
    AuthenticationRequired,
    CardDeclined,
    DomainError,
    GatewayAuthError,
    GatewayError,
    GatewayUnavailable,
    InvalidGatewayRequest,
    InvalidSignature,
)

PROBLEM_JSON = "application/problem+json"
_log = logging.getLogger("hexpay.http")

# The domain's machine codes and the HTTP status each one answers.
_STATUS_OF_CODE = {
    "validation_error": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "idempotency_key_in_use": 409,
    "idempotency_key_reused": 422,
    "unprocessable": 422,
    "card_declined": 402,
    "authentication_required": 402,
    "invalid_signature": 400,
    "payload_too_large": 413,
}

# Framework refusals by status, for the ones that carry no code of their own.
_CODE_OF_STATUS = {
    400: "validation_error",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "too_many_requests",
    503: "service_unavailable",
}


class FieldError(msgspec.Struct, kw_only=True):
    field: str | None
    message: str


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldError] | None = None
    decline_code: str | None = None


class ProblemException(Exception):
    """An HTTP-layer refusal with its code: raised anywhere in a request, answered as problem+json."""

    def __init__(self, status: int, code: str, detail: str, *, errors: list[FieldError] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.errors = status, code, detail, errors
        self.headers = headers or {}


class InvalidField(ProblemException):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(400, "validation_error", message, errors=[FieldError(field=field, message=message)])


class Unauthenticated(ProblemException):
    """Says nothing about why: missing, wrong, expired and forged credentials all read the same."""

    def __init__(self) -> None:
        super().__init__(401, "unauthenticated", "A valid bearer credential is required.",
                         headers={"WWW-Authenticate": 'Bearer realm="hexpay"'})


def problem(status: int, code: str, detail: str, *, errors: list[FieldError] | None = None,
            decline_code: str | None = None) -> Problem:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    return Problem(type=f"urn:hexpay:problem:{code}", title=title, status=status, detail=detail, code=code,
                   errors=errors, decline_code=decline_code)


def problem_body(status: int, code: str, detail: str, *, errors: list[FieldError] | None = None) -> bytes:
    return msgspec.json.encode(problem(status, code, detail, errors=errors))


def _response(body: Problem, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(content=msgspec.json.encode(body), status_code=body.status, media_type=PROBLEM_JSON,
                    headers=headers or {})


def domain_problem(exc: DomainError) -> tuple[Problem, dict[str, str]]:
    """The status and code of a domain error (see API.md "Errors")."""
    if isinstance(exc, CardDeclined):
        return problem(402, "card_declined", exc.message, decline_code=exc.decline_code), {}
    if isinstance(exc, AuthenticationRequired):
        return problem(402, "authentication_required", exc.message), {}
    if isinstance(exc, GatewayAuthError):
        # The operator's problem, not the caller's: which credential failed is not the caller's business.
        return problem(502, "gateway_unavailable", "The payment gateway refused the service's credentials."), {}
    if isinstance(exc, GatewayUnavailable):
        detail = "The payment gateway is unavailable; retry with the same Idempotency-Key."
        return problem(503, "gateway_unavailable", detail), {"Retry-After": "2"}
    if isinstance(exc, InvalidSignature):
        return problem(400, "invalid_signature", "The webhook signature does not verify."), {}
    if isinstance(exc, InvalidGatewayRequest):
        return problem(422, "unprocessable", exc.message), {}
    if isinstance(exc, GatewayError):
        return problem(502, "gateway_unavailable", "The payment gateway answered unexpectedly."), {}
    status = _STATUS_OF_CODE.get(exc.code, 422)
    code = exc.code if exc.code in _STATUS_OF_CODE else "unprocessable"
    errors = [FieldError(field=None, message=exc.message)] if code == "validation_error" else None
    return problem(status, code, exc.message, errors=errors), {}


def handle_domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[bytes]:
    body, headers = domain_problem(exc)
    return _response(body, headers)


def handle_problem(_: Request[Any, Any, Any], exc: ProblemException) -> Response[bytes]:
    return _response(problem(exc.status, exc.code, exc.detail, errors=exc.errors), exc.headers)


def _validation_errors(exc: HTTPException) -> list[FieldError]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    errors = [FieldError(field=str(item.get("key")) if item.get("key") else None, message=str(item.get("message")))
              for item in extra if isinstance(item, dict)]
    return errors or [FieldError(field=None, message=exc.detail)]


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    if status >= 500:
        return handle_unexpected(request, exc)
    code = _CODE_OF_STATUS.get(status, f"http_{status}")
    if status == 400:
        detail = "The request is not valid." if isinstance(exc, ValidationException) else exc.detail
        return _response(problem(400, code, detail, errors=_validation_errors(exc)), exc.headers or {})
    if status == 401:
        return handle_problem(request, Unauthenticated())
    if status == 413:
        return _response(problem(413, code, "The request body is larger than 1 MiB."))
    return _response(problem(status, code, exc.detail), exc.headers or {})


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    request_id = request.scope.get("state", {}).get("request_id")
    _log.error("unhandled error", exc_info=exc, extra={"request_id": request_id, "route": request.scope.get(
        "path_template")})
    return _response(problem(500, "internal_error", "An unexpected error occurred; it has been logged."))


def handle_database_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """The database is unreachable or its pool is exhausted: nothing was done, so a retry is safe."""
    _log.warning("database unavailable", extra={"request_id": request.scope.get("state", {}).get("request_id"),
                                                "error": type(exc).__name__})
    return _response(problem(503, "service_unavailable", "The database is unavailable; retry shortly."),
                     {"Retry-After": "1"})


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    OperationalError: handle_database_unavailable,
    InterfaceError: handle_database_unavailable,
    PoolTimeout: handle_database_unavailable,
    ConnectionError: handle_database_unavailable,
    DomainError: handle_domain_error,
    ProblemException: handle_problem,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
