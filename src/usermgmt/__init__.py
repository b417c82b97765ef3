"""usermgmt: the user-management core for Python services.

Build a :class:`UserManagement` and call its use cases::

    async with UserManagement.from_url("postgresql://localhost/app") as um:
        user = await um.register_user("ann@example.org", "correct horse battery")
        tokens = await um.authenticate("ann@example.org", "correct horse battery")
        me = await um.validate_access_token(tokens.access_token)

or, from synchronous code, ``with UserManagement.embedded().blocking() as um: ...``.
Everything that can go wrong on purpose raises a :class:`UserMgmtError`.
"""

from importlib.metadata import PackageNotFoundError, version

from usermgmt._service import BlockingUserManagement, Readiness, UserManagement
from usermgmt.adapters.clock import ManualClock
from usermgmt.adapters.postgres import MigrationState
from usermgmt.domain.audit import AuditEntry, AuditOutcome, AuditSlice
from usermgmt.domain.errors import (
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    CurrentPasswordRequiredError,
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
from usermgmt.settings import Environment, Settings

try:
    __version__ = version("usermgmt")
except PackageNotFoundError:  # pragma: no cover - running from an uninstalled checkout
    __version__ = "0.0.0"

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
    "WeakPasswordError",
    "WrongPasswordError",
    "__version__",
]
