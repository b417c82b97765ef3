"""Domain events, for programs that subscribe to what happens to accounts.

Every change a use case makes records an event in the same transaction (a
transactional outbox), and an attempt that changes nothing, such as a failed
login, records one on its own. The running service hands each stored event
to the handlers subscribed to its type: see ``docs/design.md``, "Events and
the outbox". An event carries ids, its time and the request's context;
never a password, a token, a secret or a hash, except ``MailRequested``: a
queued message, whose text may hold a one-time link.
"""

from usermgmt.domain.events import (
    EVENT_TYPES,
    NO_CONTEXT,
    AccessDenied,
    AuditPurged,
    Delivery,
    EmailChangeRequested,
    EmailVerified,
    Event,
    LoggedIn,
    LoggedOut,
    LoginFailed,
    LoginFailureReason,
    MailRequested,
    MfaDisabled,
    MfaEnabled,
    MfaFailed,
    MfaFailureReason,
    MfaReset,
    PasskeyAdded,
    PasskeyRemoved,
    PasswordChanged,
    PasswordReset,
    PasswordResetRequested,
    PendingEvent,
    RecoveryCodesRegenerated,
    RecoveryCodeUsed,
    RefreshTokenReused,
    RequestContext,
    SessionsRevoked,
    TokenRefreshed,
    UserDeleted,
    UserRegistered,
    UserRestored,
    UserUpdated,
    VerificationRequested,
)
from usermgmt.domain.model import USER_AGENT_MAX_LENGTH

__all__ = [
    "EVENT_TYPES",
    "NO_CONTEXT",
    "USER_AGENT_MAX_LENGTH",
    "AccessDenied",
    "AuditPurged",
    "Delivery",
    "EmailChangeRequested",
    "EmailVerified",
    "Event",
    "LoggedIn",
    "LoggedOut",
    "LoginFailed",
    "LoginFailureReason",
    "MailRequested",
    "MfaDisabled",
    "MfaEnabled",
    "MfaFailed",
    "MfaFailureReason",
    "MfaReset",
    "PasskeyAdded",
    "PasskeyRemoved",
    "PasswordChanged",
    "PasswordReset",
    "PasswordResetRequested",
    "PendingEvent",
    "RecoveryCodeUsed",
    "RecoveryCodesRegenerated",
    "RefreshTokenReused",
    "RequestContext",
    "SessionsRevoked",
    "TokenRefreshed",
    "UserDeleted",
    "UserRegistered",
    "UserRestored",
    "UserUpdated",
    "VerificationRequested",
]
