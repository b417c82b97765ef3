"""Every error of the HTTP face as an RFC 9457 problem detail, mapped here and only here.

Domain errors are mapped by category along their class hierarchy; the
framework's own errors (unknown route, wrong method, unparseable or oversized
body, refused values, rate limit) by status. Anything unexpected becomes a
bare 500 whose cause goes to the log, never to the client.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Final

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)

from usermgmt import (
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    EmailNotVerifiedError,
    EmailTakenError,
    InvalidCredentialsError,
    InvalidMfaCodeError,
    InvalidTokenError,
    LastAdminError,
    LoginThrottledError,
    MailDeliveryError,
    MailDisabledError,
    MfaNotEnabledError,
    MfaThrottledError,
    MigrationError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    TotpAlreadyEnabledError,
    UnavailableError,
    UserMgmtError,
    ValidationError,
    WrongPasswordError,
)
from usermgmt.entrypoints.http.allow import allow_header

log = logging.getLogger("usermgmt.http")

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
MAX_BODY_BYTES: Final = 64 * 1024
BEARER_CHALLENGE: Final = "Bearer"
INVALID_TOKEN_CHALLENGE: Final = 'Bearer error="invalid_token"'  # noqa: S105 - RFC 6750

_PROBLEMS: Final = (  # most specific first
    (MfaThrottledError, 429, "mfa-throttled", "Too many wrong codes"),
    (LoginThrottledError, 429, "login-throttled", "Too many failed logins"),
    (InvalidTokenError, 401, "invalid-token", "Invalid token"),
    (InvalidCredentialsError, 401, "invalid-credentials", "Invalid credentials"),
    (InvalidMfaCodeError, 401, "invalid-mfa-code", "Invalid code"),
    (AuthenticationError, 401, "unauthenticated", "Authentication required"),
    (WrongPasswordError, 403, "wrong-password", "Wrong current password"),
    (EmailNotVerifiedError, 403, "email-not-verified", "Email not verified"),
    (PermissionDeniedError, 403, "forbidden", "Forbidden"),
    (NotFoundError, 404, "not-found", "Not found"),
    (EmailTakenError, 409, "email-taken", "Email already registered"),
    (LastAdminError, 409, "last-admin", "Last active administrator"),
    (TotpAlreadyEnabledError, 409, "totp-already-enabled", "TOTP already on"),
    (MfaNotEnabledError, 409, "mfa-not-enabled", "TOTP not on"),
    (ConflictError, 409, "conflict", "Conflict"),
    (ValidationError, 422, "invalid", "Invalid input"),
    (OverloadedError, 503, "overloaded", "Service overloaded"),
    (MailDisabledError, 503, "mail-disabled", "Mail disabled"),
    (UnavailableError, 503, "unavailable", "Service unavailable"),
    # Mail is sent in the background, never in a request: reaching here is a bug, kept quiet.
    (MailDeliveryError, 503, "mail-unavailable", "Mail unavailable"),
    (ConfigurationError, 500, "internal", "Internal error"),  # operator errors: never shown
    (MigrationError, 500, "internal", "Internal error"),
    (UserMgmtError, 422, "invalid", "Invalid input"),  # fallback; a test keeps it unreached
)

_INTERNAL_DETAIL: Final = "The server could not complete the request."
_UNAVAILABLE_DETAIL: Final = str(UnavailableError())
_FIELD_IN_MESSAGE: Final = re.compile(r"field `([^`]+)`")
_EMPTY_BODY: Final = "'data'"  # how Litestar reports a required body that was not sent


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    errors: list[dict[str, str]] | None = None,
) -> ProblemDetailsException:
    """Return the problem detail ``/problems/<slug>`` with *status*."""
    return ProblemDetailsException(
        status_code=status,
        type_=f"/problems/{slug}",
        title=title,
        detail=detail,
        headers=dict(headers) if headers else None,
        extra={"errors": errors} if errors is not None else None,
    )


def to_problem(exc: UserMgmtError) -> ProblemDetailsException:
    """Map a domain error to its problem detail (category by category, along the MRO)."""
    status, slug, title = next((s, u, t) for cls, s, u, t in _PROBLEMS if isinstance(exc, cls))
    headers: dict[str, str] = {}
    errors = None
    detail = str(exc)
    if isinstance(exc, InvalidTokenError):
        headers["WWW-Authenticate"] = INVALID_TOKEN_CHALLENGE
    elif status == HTTPStatus.UNAUTHORIZED:
        headers["WWW-Authenticate"] = BEARER_CHALLENGE
    if isinstance(exc, LoginThrottledError | OverloadedError):
        headers["Retry-After"] = str(max(1, exc.retry_after))
    if isinstance(exc, ValidationError):
        errors = [{"field": exc.field, "message": exc.reason}]
    if isinstance(exc, UnavailableError) and detail != _UNAVAILABLE_DETAIL:
        log.error("database unusable: %s", exc)  # e.g. not migrated: for the operator only
        detail = _UNAVAILABLE_DETAIL
    elif status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        log.error("refused to serve a request: %s", exc)
        detail = _INTERNAL_DETAIL
    return problem(status, slug, title, detail, headers=headers, errors=errors)


def _field_errors(exc: ValidationException) -> list[dict[str, str]]:
    """Turn Litestar's validation messages into ``{"field", "message"}`` pairs."""
    entries = exc.extra if isinstance(exc.extra, list) else []
    found = []
    for entry in entries:
        key = str(entry.get("key", "")) if isinstance(entry, Mapping) else ""
        message = str(entry.get("message", "")) if isinstance(entry, Mapping) else str(entry)
        if key == "data":  # about the body as a whole: name the field if the message does
            named = _FIELD_IN_MESSAGE.search(message)
            key = named[1] if named else "body"
        found.append({"field": key or "body", "message": message})
    return found


def _is_empty_body(exc: ValidationException) -> bool:
    entries = exc.extra if isinstance(exc.extra, list) else []
    return any(
        isinstance(entry, Mapping)
        and entry.get("key") == "data"
        and entry.get("message") == _EMPTY_BODY
        for entry in entries
    )


def unknown_path() -> ProblemDetailsException:
    """Return the problem of a path that names nothing."""
    return problem(404, "not-found", "Not found", "Nothing is served at this path.")


def unsupported_media_type() -> ProblemDetailsException:
    """Return the problem of a request body that is not JSON (or says nothing of its type)."""
    return problem(
        415,
        "unsupported-media-type",
        "Unsupported media type",
        "The request body must be JSON, sent with Content-Type: application/json.",
    )


def malformed_length() -> ProblemDetailsException:
    """Return the problem of a ``Content-Length`` that is not a number of bytes."""
    return problem(
        400, "malformed-body", "Malformed request body", "Content-Length is not a number of bytes."
    )


def render(exc: ProblemDetailsException) -> Response[dict[str, Any]]:
    """Return *exc* as an ``application/problem+json`` response."""
    body: dict[str, Any] = {
        "type": exc.type_,
        "title": exc.title,
        "status": exc.status_code,
        "detail": exc.detail,
    }
    if isinstance(exc.extra, Mapping):
        body.update(exc.extra)
    return Response(
        body, status_code=exc.status_code, headers=exc.headers, media_type=PROBLEM_MEDIA_TYPE
    )


def http_problem(exc: HTTPException) -> ProblemDetailsException:  # noqa: PLR0911 - one branch per status
    """Map one of the framework's own errors to a problem detail."""
    headers = dict(exc.headers or {})
    if isinstance(exc, ValidationException):
        if _is_empty_body(exc):
            return problem(
                400,
                "malformed-body",
                "Malformed request body",
                "The request body is empty; a JSON object is required.",
            )
        return problem(
            422,
            "invalid",
            "Invalid input",
            "Some values were refused; see errors.",
            errors=_field_errors(exc),
        )
    status = exc.status_code
    if status == HTTPStatus.BAD_REQUEST:
        detail = f"The request body is not valid JSON: {exc.detail}."
        return problem(400, "malformed-body", "Malformed request body", detail)
    if status == HTTPStatus.UNAUTHORIZED:
        headers.setdefault("WWW-Authenticate", BEARER_CHALLENGE)
        return problem(
            401, "unauthenticated", "Authentication required", exc.detail, headers=headers
        )
    if status == HTTPStatus.NOT_FOUND:
        return unknown_path()
    if status == HTTPStatus.METHOD_NOT_ALLOWED:
        headers["allow"] = allow_header(headers.get("allow", "").split(","))
        detail = f"This path does not accept that method; it accepts {headers['allow']}."
        return problem(405, "method-not-allowed", "Method not allowed", detail, headers=headers)
    if status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
        detail = f"The request body is larger than {MAX_BODY_BYTES // 1024} KiB."
        return problem(413, "body-too-large", "Request body too large", detail)
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        reset = headers.get("RateLimit-Reset", "60")
        headers["Retry-After"] = str(max(1, int(reset))) if reset.isdigit() else "60"
        detail = f"Too many requests from this client; try again in {headers['Retry-After']} s."
        return problem(429, "rate-limited", "Too many requests", detail, headers=headers)
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        log.error("internal error: %s", exc.detail)
        return problem(status, "internal", "Internal error", _INTERNAL_DETAIL)
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    slug = phrase.lower().replace(" ", "-").replace("'", "")
    return problem(status, slug, phrase, exc.detail, headers=headers)


def too_deep(request: Request[Any, Any, Any], exc: RecursionError) -> Response[Any]:
    """Answer a JSON body nested deeper than the decoder follows as malformed (400)."""
    del request, exc
    detail = "The request body is not valid JSON: it is nested too deeply."
    return render(problem(400, "malformed-body", "Malformed request body", detail))


def unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Answer an exception nobody expected with a bare 500, and log its traceback."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return render(problem(500, "internal", "Internal error", _INTERNAL_DETAIL))


def problem_details_plugin() -> ProblemDetailsPlugin:
    """Return the plugin that renders every error above as ``application/problem+json``."""
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            enable_for_all_http_exceptions=True,
            exception_to_problem_detail_map={
                UserMgmtError: to_problem,
                HTTPException: http_problem,
            },
        )
    )
