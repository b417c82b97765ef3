"""Every domain error maps, on purpose, to one problem detail of the HTTP face."""

from __future__ import annotations

import pytest
from litestar import Litestar, get
from litestar.testing import TestClient

import usermgmt
from tests.errors import domain_errors, instance_of
from usermgmt import UserMgmtError
from usermgmt.entrypoints.http.problems import (
    _PROBLEMS,
    problem_details_plugin,
    to_problem,
    unexpected,
)

# Each error's status and problem type, decided one by one: a new error fails here until it is.
EXPECTED = {
    "ValidationError": (422, "invalid"),
    "InvalidEmailError": (422, "invalid"),
    "WeakPasswordError": (422, "invalid"),
    "ValueTooLongError": (422, "invalid"),
    "InvalidCursorError": (422, "invalid"),
    "InvalidPageError": (422, "invalid"),
    "CurrentPasswordRequiredError": (422, "invalid"),
    "InvalidOneTimeTokenError": (422, "invalid"),
    "PasskeyRejectedError": (422, "invalid"),
    "AuthenticationError": (401, "unauthenticated"),
    "InvalidCredentialsError": (401, "invalid-credentials"),
    "InvalidTokenError": (401, "invalid-token"),
    "RefreshTokenReusedError": (401, "invalid-token"),
    "PermissionDeniedError": (403, "forbidden"),
    "WrongPasswordError": (403, "wrong-password"),
    "EmailNotVerifiedError": (403, "email-not-verified"),
    "NotFoundError": (404, "not-found"),
    "UserNotFoundError": (404, "not-found"),
    "ConflictError": (409, "conflict"),
    "EmailTakenError": (409, "email-taken"),
    "LastAdminError": (409, "last-admin"),
    "UserNotDeletedError": (404, "not-found"),
    "SessionNotFoundError": (404, "not-found"),
    "PasskeyNotFoundError": (404, "not-found"),
    "LoginThrottledError": (429, "login-throttled"),
    "OverloadedError": (503, "overloaded"),
    "MailDisabledError": (503, "mail-disabled"),
    "UnavailableError": (503, "unavailable"),
    "SchemaOutdatedError": (503, "unavailable"),
    "ConfigurationError": (500, "internal"),
    "MigrationError": (500, "internal"),
    "MailDeliveryError": (503, "mail-unavailable"),
    "TransientMailError": (503, "mail-unavailable"),
    "PermanentMailError": (503, "mail-unavailable"),
    "InvalidTotpCodeError": (422, "invalid"),
    "InvalidMfaCodeError": (401, "invalid-mfa-code"),
    "TotpAlreadyEnabledError": (409, "totp-already-enabled"),
    "MfaNotEnabledError": (409, "mfa-not-enabled"),
    "MfaThrottledError": (429, "mfa-throttled"),
}


@pytest.mark.parametrize("cls", domain_errors(), ids=lambda cls: cls.__name__)
def test_each_domain_error_has_its_own_problem_never_the_fallback(
    cls: type[UserMgmtError],
) -> None:
    """No subclass of UserMgmtError reaches the catch-all entry of the table."""
    error = instance_of(cls)
    matched = next(entry for entry in _PROBLEMS if isinstance(error, entry[0]))

    problem = to_problem(error)

    assert matched[0] is not UserMgmtError
    assert (problem.status_code, problem.type_) == (
        EXPECTED[cls.__name__][0],
        f"/problems/{EXPECTED[cls.__name__][1]}",
    )


def test_the_walk_sees_every_public_error() -> None:
    """Every error class that usermgmt exports is checked above."""
    exported = {
        value
        for name in usermgmt.__all__
        if isinstance(value := getattr(usermgmt, name), type) and issubclass(value, UserMgmtError)
    }

    assert exported - {UserMgmtError} <= set(domain_errors())


@pytest.mark.parametrize("cls", domain_errors(), ids=lambda cls: cls.__name__)
def test_each_domain_error_is_served_as_problem_json_with_its_headers(
    cls: type[UserMgmtError],
) -> None:
    """Through the real stack: the status, the media type, and the headers the status needs."""
    error = instance_of(cls)

    @get("/fail")
    async def fail() -> None:
        raise error

    app = Litestar(
        [fail], plugins=[problem_details_plugin()], exception_handlers={Exception: unexpected}
    )
    with TestClient(app) as client:
        response = client.get("/fail")

    status = EXPECTED[cls.__name__][0]
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert ("www-authenticate" in response.headers) == (status == 401)
    throttled = status == 429 or cls.__name__ == "OverloadedError"
    assert ("retry-after" in response.headers) == throttled
    if status >= 500:
        shown = {"UnavailableError", "OverloadedError"}  # safe to say, and what the client needs
        assert response.json()["detail"] != str(error) or cls.__name__ in shown
