"""The errors usermgmt raises on purpose, for programs that catch them.

Every deliberate failure is a :class:`UserMgmtError`. The category classes
(``ValidationError``, ``AuthenticationError``, ``PermissionDeniedError``,
``NotFoundError``, ``ConflictError``, ``UnavailableError``) say what kind of
failure it is; the leaves say exactly what happened and carry the data a
caller needs to act on it (``EmailTakenError.email``,
``LoginThrottledError.retry_after``, ...). ``str(error)`` is a one-line
message safe to show to a client. The same classes are importable from
``usermgmt`` itself; see ``docs/library.md``, "Errors".
"""

from usermgmt.domain.errors import (
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    CurrentPasswordRequiredError,
    EmailTakenError,
    InvalidCredentialsError,
    InvalidCursorError,
    InvalidEmailError,
    InvalidOneTimeTokenError,
    InvalidPageError,
    InvalidTokenError,
    LastAdminError,
    LoginThrottledError,
    MailDeliveryError,
    MailDisabledError,
    MigrationError,
    NotFoundError,
    OverloadedError,
    PermanentMailError,
    PermissionDeniedError,
    RefreshTokenReusedError,
    SchemaOutdatedError,
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

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "CurrentPasswordRequiredError",
    "EmailTakenError",
    "InvalidCredentialsError",
    "InvalidCursorError",
    "InvalidEmailError",
    "InvalidOneTimeTokenError",
    "InvalidPageError",
    "InvalidTokenError",
    "LastAdminError",
    "LoginThrottledError",
    "MailDeliveryError",
    "MailDisabledError",
    "MigrationError",
    "NotFoundError",
    "OverloadedError",
    "PermanentMailError",
    "PermissionDeniedError",
    "RefreshTokenReusedError",
    "SchemaOutdatedError",
    "TransientMailError",
    "UnavailableError",
    "UserMgmtError",
    "UserNotDeletedError",
    "UserNotFoundError",
    "ValidationError",
    "ValueTooLongError",
    "WeakPasswordError",
    "WrongPasswordError",
]
