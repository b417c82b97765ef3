"""usermgmt: the user-management core for Python services.

Build a :class:`UserManagement` and call its use cases::

    async with UserManagement.from_url("postgresql://localhost/app") as um:
        user = await um.register_user("ann@example.org", "correct horse battery")
        tokens = await um.authenticate("ann@example.org", "correct horse battery")
        me = await um.validate_access_token(tokens.access_token)

or, from synchronous code, ``with UserManagement.embedded().blocking() as um: ...``.
Everything that can go wrong on purpose raises a :class:`UserMgmtError`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    __version__: str

    from usermgmt._service import BlockingUserManagement, Readiness, UserManagement
    from usermgmt.adapters.clock import ManualClock
    from usermgmt.adapters.postgres import MigrationState
    from usermgmt.domain.audit import AuditEntry, AuditOutcome, AuditSlice
    from usermgmt.domain.errors import (
        AuthenticationError,
        ConfigurationError,
        ConflictError,
        CurrentPasswordRequiredError,
        EmailNotVerifiedError,
        EmailTakenError,
        InvalidCredentialsError,
        InvalidCursorError,
        InvalidEmailError,
        InvalidMfaCodeError,
        InvalidOneTimeTokenError,
        InvalidPageError,
        InvalidTokenError,
        InvalidTotpCodeError,
        LastAdminError,
        LoginThrottledError,
        MailDeliveryError,
        MailDisabledError,
        MfaNotEnabledError,
        MfaThrottledError,
        MigrationError,
        NotFoundError,
        OverloadedError,
        PasskeyNotFoundError,
        PasskeyRejectedError,
        PermanentMailError,
        PermissionDeniedError,
        RefreshTokenReusedError,
        SchemaOutdatedError,
        SessionNotFoundError,
        TotpAlreadyEnabledError,
        TransientMailError,
        UnavailableError,
        UserMgmtError,
        UserNotDeletedError,
        UserNotFoundError,
        ValidationError,
        ValueTooLongError,
        WeakPasswordError,
        WrongPasswordError,
    )
    from usermgmt.domain.model import (
        SYSTEM,
        Actor,
        Email,
        Principal,
        Role,
        Session,
        SessionId,
        SystemActor,
        TokenPair,
        User,
        UserId,
        UserPage,
        UserSlice,
    )
    from usermgmt.domain.passkeys import CeremonyId, PasskeyCeremony, PasskeyCredential
    from usermgmt.domain.rules.mfa import MfaChallenge, TotpEnrolment
    from usermgmt.domain.verification import VerificationMode
    from usermgmt.settings import Environment, Settings

_EXPORTS: Final[dict[str, str]] = {
    "Actor": "usermgmt.domain.model",
    "AuditEntry": "usermgmt.domain.audit",
    "AuditOutcome": "usermgmt.domain.audit",
    "AuditSlice": "usermgmt.domain.audit",
    "AuthenticationError": "usermgmt.domain.errors",
    "BlockingUserManagement": "usermgmt._service",
    "CeremonyId": "usermgmt.domain.passkeys",
    "ConfigurationError": "usermgmt.domain.errors",
    "ConflictError": "usermgmt.domain.errors",
    "CurrentPasswordRequiredError": "usermgmt.domain.errors",
    "Email": "usermgmt.domain.model",
    "EmailNotVerifiedError": "usermgmt.domain.errors",
    "EmailTakenError": "usermgmt.domain.errors",
    "Environment": "usermgmt.settings",
    "InvalidCredentialsError": "usermgmt.domain.errors",
    "InvalidCursorError": "usermgmt.domain.errors",
    "InvalidEmailError": "usermgmt.domain.errors",
    "InvalidMfaCodeError": "usermgmt.domain.errors",
    "InvalidOneTimeTokenError": "usermgmt.domain.errors",
    "InvalidPageError": "usermgmt.domain.errors",
    "InvalidTokenError": "usermgmt.domain.errors",
    "InvalidTotpCodeError": "usermgmt.domain.errors",
    "LastAdminError": "usermgmt.domain.errors",
    "LoginThrottledError": "usermgmt.domain.errors",
    "MailDeliveryError": "usermgmt.domain.errors",
    "MailDisabledError": "usermgmt.domain.errors",
    "ManualClock": "usermgmt.adapters.clock",
    "MfaChallenge": "usermgmt.domain.rules.mfa",
    "MfaNotEnabledError": "usermgmt.domain.errors",
    "MfaThrottledError": "usermgmt.domain.errors",
    "MigrationError": "usermgmt.domain.errors",
    "MigrationState": "usermgmt.adapters.postgres",
    "NotFoundError": "usermgmt.domain.errors",
    "OverloadedError": "usermgmt.domain.errors",
    "PasskeyCeremony": "usermgmt.domain.passkeys",
    "PasskeyCredential": "usermgmt.domain.passkeys",
    "PasskeyNotFoundError": "usermgmt.domain.errors",
    "PasskeyRejectedError": "usermgmt.domain.errors",
    "PermanentMailError": "usermgmt.domain.errors",
    "PermissionDeniedError": "usermgmt.domain.errors",
    "Principal": "usermgmt.domain.model",
    "Readiness": "usermgmt._service",
    "RefreshTokenReusedError": "usermgmt.domain.errors",
    "Role": "usermgmt.domain.model",
    "SYSTEM": "usermgmt.domain.model",
    "SchemaOutdatedError": "usermgmt.domain.errors",
    "Session": "usermgmt.domain.model",
    "SessionId": "usermgmt.domain.model",
    "SessionNotFoundError": "usermgmt.domain.errors",
    "Settings": "usermgmt.settings",
    "SystemActor": "usermgmt.domain.model",
    "TokenPair": "usermgmt.domain.model",
    "TotpAlreadyEnabledError": "usermgmt.domain.errors",
    "TotpEnrolment": "usermgmt.domain.rules.mfa",
    "TransientMailError": "usermgmt.domain.errors",
    "UnavailableError": "usermgmt.domain.errors",
    "User": "usermgmt.domain.model",
    "UserId": "usermgmt.domain.model",
    "UserManagement": "usermgmt._service",
    "UserMgmtError": "usermgmt.domain.errors",
    "UserNotDeletedError": "usermgmt.domain.errors",
    "UserNotFoundError": "usermgmt.domain.errors",
    "UserPage": "usermgmt.domain.model",
    "UserSlice": "usermgmt.domain.model",
    "ValidationError": "usermgmt.domain.errors",
    "ValueTooLongError": "usermgmt.domain.errors",
    "VerificationMode": "usermgmt.domain.verification",
    "WeakPasswordError": "usermgmt.domain.errors",
    "WrongPasswordError": "usermgmt.domain.errors",
}
"""Where each public name is defined: imported on first use (PEP 562).

``import usermgmt`` loads nothing else, so ``usermgmt --help`` and the CLI's
light commands do not pay for the drivers, the token codec or the HTTP stack;
``from usermgmt import UserManagement`` loads what that class needs, once.
A new public name goes in three places: the ``TYPE_CHECKING`` imports above
(for type checkers), this table and ``__all__``; a unit test holds the last
two to each other.
"""


# Hidden from type checkers, which then know exactly the names imported above: a typo in
# ``from usermgmt import ...`` stays an error for them instead of an ``object``.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        """Import the public name *name* from its module on first use, then keep it here."""
        if name == "__version__":
            value: object = _version()
        elif name in _EXPORTS:
            value = getattr(importlib.import_module(_EXPORTS[name]), name)
        else:
            msg = f"module {__name__!r} has no attribute {name!r}"
            raise AttributeError(msg)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    """List the public names with the module's own, as if each had been imported."""
    return sorted({*globals(), *__all__})


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415 - read once, on demand

    try:
        return version("usermgmt")
    except PackageNotFoundError:  # pragma: no cover - running from an uninstalled checkout
        return "0.0.0"


__all__ = [
    "SYSTEM",
    "Actor",
    "AuditEntry",
    "AuditOutcome",
    "AuditSlice",
    "AuthenticationError",
    "BlockingUserManagement",
    "CeremonyId",
    "ConfigurationError",
    "ConflictError",
    "CurrentPasswordRequiredError",
    "Email",
    "EmailNotVerifiedError",
    "EmailTakenError",
    "Environment",
    "InvalidCredentialsError",
    "InvalidCursorError",
    "InvalidEmailError",
    "InvalidMfaCodeError",
    "InvalidOneTimeTokenError",
    "InvalidPageError",
    "InvalidTokenError",
    "InvalidTotpCodeError",
    "LastAdminError",
    "LoginThrottledError",
    "MailDeliveryError",
    "MailDisabledError",
    "ManualClock",
    "MfaChallenge",
    "MfaNotEnabledError",
    "MfaThrottledError",
    "MigrationError",
    "MigrationState",
    "NotFoundError",
    "OverloadedError",
    "PasskeyCeremony",
    "PasskeyCredential",
    "PasskeyNotFoundError",
    "PasskeyRejectedError",
    "PermanentMailError",
    "PermissionDeniedError",
    "Principal",
    "Readiness",
    "RefreshTokenReusedError",
    "Role",
    "SchemaOutdatedError",
    "Session",
    "SessionId",
    "SessionNotFoundError",
    "Settings",
    "SystemActor",
    "TokenPair",
    "TotpAlreadyEnabledError",
    "TotpEnrolment",
    "TransientMailError",
    "UnavailableError",
    "User",
    "UserId",
    "UserManagement",
    "UserMgmtError",
    "UserNotDeletedError",
    "UserNotFoundError",
    "UserPage",
    "UserSlice",
    "ValidationError",
    "ValueTooLongError",
    "VerificationMode",
    "WeakPasswordError",
    "WrongPasswordError",
    "__version__",
]
