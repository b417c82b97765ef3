"""Domain events: what happened to which account, when, and from where.

Use cases record an event in the unit of work of the change it describes, so
the event is stored if and only if the change commits (the transactional
outbox); an attempt that changes nothing (a failed login) is recorded on its
own. The same write stores the event's audit rows (see
:mod:`usermgmt.domain.audit`); a dispatcher later hands each stored event to
the subscribers of its type (mail is one).

An event carries ids, the time, the request's context and the facts a
consumer needs; never a password, a token, a secret or a hash, with one
exception: :class:`MailRequested` is a message queued for sending, and the
message of a flow holds its one-time link (see its documentation). Events are
plain frozen values: an adapter stores them as JSON, and reads them back
equal, so every field is a string, number, boolean, UUID, time, enumeration
or tuple of strings.

Past 300 lines, kept as one module for now: the whole catalogue of event
types, which ``EVENT_TYPES`` must list in full for the outbox to read them
back. Its natural split is the catalogue by feature area beside the
machinery (``Event``, ``PendingEvent``, ``Delivery``).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Final, Generic, TypeVar
from uuid import UUID

import attrs

from usermgmt.domain.mail import Mailbox, MailKind, MailMessage
from usermgmt.domain.model import (
    IP_MAX_LENGTH,
    PASSWORD_AMR,
    USER_AGENT_MAX_LENGTH,
    Role,
    SessionId,
    UserId,
)

_FIELD_MAX_LENGTH: Final = IP_MAX_LENGTH
"""An address or a request id is never longer than this; anything longer is cut."""


def _short(value: str) -> str:
    return value[:_FIELD_MAX_LENGTH]


def _user_agent(value: str) -> str:
    return value[:USER_AGENT_MAX_LENGTH]


@attrs.frozen(kw_only=True)
class RequestContext:
    """Where a use case was asked from: empty fields when unknown (the CLI, a script).

    Lengths are bounded here, so a client cannot make the stored events grow
    with a long header.
    """

    ip: str = attrs.field(default="", converter=_short)
    """The client's address, as the HTTP face determined it."""
    user_agent: str = attrs.field(default="", converter=_user_agent)
    """The ``User-Agent`` header, truncated."""
    request_id: str = attrs.field(default="", converter=_short)
    """The request's id, when the face assigned one."""


NO_CONTEXT: Final = RequestContext()
"""The context of a call that did not come through a request."""


@attrs.frozen(kw_only=True)
class Event:
    """Something that happened, at *at*, asked from *context*.

    Subclasses add the facts; ``type(event).__name__`` is the event's stable
    type name, stored with it.
    """

    at: datetime
    context: RequestContext = NO_CONTEXT

    @classmethod
    def type_name(cls) -> str:
        """The name this type is stored under (the class name)."""
        return cls.__name__


@attrs.frozen(kw_only=True)
class UserRegistered(Event):
    """An account was created, by itself (*actor_id* ``None``) or by an admin."""

    user_id: UserId
    role: Role
    actor_id: UserId | None = None


class LoginFailureReason(enum.StrEnum):
    """Why a login failed: recorded, never shown to the client."""

    UNKNOWN_EMAIL = "unknown_email"
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 - a reason, not a password
    INACTIVE = "inactive"
    THROTTLED = "throttled"
    CEREMONY_INVALID = "ceremony_invalid"
    """A passkey response to an unknown, spent or expired ceremony."""
    UNKNOWN_PASSKEY = "unknown_passkey"
    """A passkey this service does not know (never registered, or removed)."""
    PASSKEY_INVALID = "passkey_invalid"
    """A passkey response that does not verify: origin, RP id, flags, signature."""
    PASSKEY_COUNTER = "passkey_counter"
    """A passkey whose signature counter did not grow: a cloned authenticator, maybe."""
    UNVERIFIED = "unverified"
    """The right password, but verification is required and the address is not verified."""


@attrs.frozen(kw_only=True)
class LoggedIn(Event):
    """A session started: the user proved who they are, by *amr* (RFC 8176 names)."""

    user_id: UserId
    session_id: SessionId
    amr: tuple[str, ...] = PASSWORD_AMR


@attrs.frozen(kw_only=True)
class LoginFailed(Event):
    """A login was refused; *user_id* is the account the email named, if any.

    The email typed is not kept: users sometimes type their password there.
    """

    reason: LoginFailureReason
    user_id: UserId | None = None


@attrs.frozen(kw_only=True)
class TokenRefreshed(Event):
    """A refresh token was exchanged for a new pair."""

    user_id: UserId
    session_id: SessionId


@attrs.frozen(kw_only=True)
class RefreshTokenReused(Event):
    """A spent refresh token came back: outside the grace window its session was revoked."""

    user_id: UserId
    session_id: SessionId
    session_revoked: bool


@attrs.frozen(kw_only=True)
class LoggedOut(Event):
    """A user ended their session, or with *all_sessions* every one of theirs."""

    user_id: UserId
    session_id: SessionId
    all_sessions: bool = False


@attrs.frozen(kw_only=True)
class SessionsRevoked(Event):
    """Sessions of a user were ended; *count* were live.

    Every session ("sign out everywhere"), or only *session_id* when one was
    named, or every one but *kept_session_id* (the user's "sign out my other
    devices"). *actor_id* is who asked: an admin, the user, or ``None`` for
    the operator.
    """

    user_id: UserId
    actor_id: UserId | None
    count: int
    session_id: SessionId | None = None
    kept_session_id: SessionId | None = None


@attrs.frozen(kw_only=True)
class PasswordChanged(Event):
    """A user's password changed; their other sessions ended.

    *kept_session_id* is the session that made the change, when the user did.
    """

    user_id: UserId
    actor_id: UserId | None
    kept_session_id: SessionId | None = None


@attrs.frozen(kw_only=True)
class PasswordResetRequested(Event):
    """Someone asked for a reset link for *email*: any address, an account's or not.

    Recorded for every request alike, so that the request does the same work
    whoever owns the address; the mail (to a live, active account only) is
    decided when the event is delivered.
    """

    email: str


@attrs.frozen(kw_only=True)
class PasswordReset(Event):
    """A user's password was set through a reset link; every session of the user ended."""

    user_id: UserId


@attrs.frozen(kw_only=True)
class VerificationRequested(Event):
    """Someone asked for a new verification link for *email*: any address, an account's or not.

    Recorded for every request alike, as :class:`PasswordResetRequested` is;
    the mail (to a live account whose address is not verified yet) is decided
    when the event is delivered.
    """

    email: str


@attrs.frozen(kw_only=True)
class EmailVerified(Event):
    """A user spent a mailed link: their address is verified, and new if *email_changed*."""

    user_id: UserId
    email_changed: bool


@attrs.frozen(kw_only=True)
class EmailChangeRequested(Event):
    """A user asked to change their own address; it applies when the new one is confirmed."""

    user_id: UserId


@attrs.frozen(kw_only=True)
class UserUpdated(Event):
    """Some of a user's fields changed (a password change is :class:`PasswordChanged`).

    *changed* names the fields (``name``, ``email``, ``role``, ``is_active``);
    *role* and *is_active* are the values after the change.
    """

    user_id: UserId
    actor_id: UserId | None
    changed: tuple[str, ...]
    role: Role
    is_active: bool


@attrs.frozen(kw_only=True)
class UserDeleted(Event):
    """A user was soft-deleted: sessions ended, devices forgotten."""

    user_id: UserId
    actor_id: UserId | None


@attrs.frozen(kw_only=True)
class UserRestored(Event):
    """A soft-deleted user was brought back."""

    user_id: UserId
    actor_id: UserId | None


@attrs.frozen(kw_only=True)
class PasskeyAdded(Event):
    """A user registered a passkey (credential *passkey_id*); a notice was queued."""

    user_id: UserId
    passkey_id: UUID
    name: str


@attrs.frozen(kw_only=True)
class PasskeyRemoved(Event):
    """A user removed one of their passkeys."""

    user_id: UserId
    actor_id: UserId | None
    passkey_id: UUID


@attrs.frozen(kw_only=True)
class MailRequested(Event):
    """A message to send, queued in the same transaction as the change that causes it.

    The mail subscriber sends it, with ``Message-ID: <usermgmt-{outbox id}@…>``
    on every attempt. Its *text* and *html* may hold a one-time link: the
    token is in the outbox until the delivered row is purged, and it is only
    ever good for its short lifetime. Other subscribers (an audit log) must
    keep nothing of it but *kind* and the recipient.
    """

    kind: MailKind
    to_address: str
    to_name: str = ""
    subject: str
    text: str
    html: str | None = None

    @classmethod
    def of(cls, message: MailMessage, *, at: datetime, context: RequestContext) -> MailRequested:
        """Queue *message* (its headers and id are the mailer's to set: they are not kept)."""
        return cls(
            at=at,
            context=context,
            kind=message.kind,
            to_address=message.to.address,
            to_name=message.to.name,
            subject=message.subject,
            text=message.text,
            html=message.html,
        )

    def message(self, message_id: str | None = None) -> MailMessage:
        """Return the message again, with *message_id*.

        Raises:
            ValidationError: a stored value is no longer acceptable (not for a
                message this version queued).
        """
        return MailMessage(
            to=Mailbox(self.to_address, self.to_name),
            subject=self.subject,
            text=self.text,
            kind=self.kind,
            html=self.html,
            message_id=message_id,
        )


@attrs.frozen(kw_only=True)
class AccessDenied(Event):
    """An authenticated caller (or the operator) was refused an action: a 403.

    *action* is what was refused, in the words of the refusal; *user_id* the
    account it named, when it named one.
    """

    actor_id: UserId | None
    action: str
    user_id: UserId | None = None


@attrs.frozen(kw_only=True)
class MfaEnabled(Event):
    """A user confirmed a TOTP key: login asks for a code from now on; other sessions ended."""

    user_id: UserId
    kept_session_id: SessionId | None = None


@attrs.frozen(kw_only=True)
class MfaDisabled(Event):
    """A user removed their TOTP key and recovery codes, proven by password and code."""

    user_id: UserId


@attrs.frozen(kw_only=True)
class MfaReset(Event):
    """An admin (or the operator, *actor_id* ``None``) removed a user's second factors.

    Every session of the user ended (*sessions_ended* were live).
    """

    user_id: UserId
    actor_id: UserId | None
    sessions_ended: int


@attrs.frozen(kw_only=True)
class RecoveryCodeUsed(Event):
    """A recovery code stood in for a TOTP code, and is spent; *remaining* are left."""

    user_id: UserId
    remaining: int


@attrs.frozen(kw_only=True)
class RecoveryCodesRegenerated(Event):
    """A user made a new set of recovery codes; the old set is void."""

    user_id: UserId


class MfaFailureReason(enum.StrEnum):
    """Why a second step failed: recorded, never shown to the client."""

    WRONG_CODE = "wrong_code"
    REPLAYED_CODE = "replayed_code"
    INVALID_CHALLENGE = "invalid_challenge"
    THROTTLED = "throttled"


@attrs.frozen(kw_only=True)
class MfaFailed(Event):
    """A second step (a TOTP or recovery code at login) was refused.

    *user_id* is the account the challenge named, when it named a live one.
    """

    reason: MfaFailureReason
    user_id: UserId | None = None


@attrs.frozen(kw_only=True)
class AuditPurged(Event):
    """Audit rows older than *before* were deleted: *count* of them."""

    actor_id: UserId | None
    before: datetime
    count: int


EVENT_TYPES: Final[dict[str, type[Event]]] = {
    cls.type_name(): cls
    for cls in (
        UserRegistered,
        LoggedIn,
        LoginFailed,
        TokenRefreshed,
        RefreshTokenReused,
        LoggedOut,
        SessionsRevoked,
        PasswordChanged,
        PasswordResetRequested,
        PasswordReset,
        VerificationRequested,
        EmailVerified,
        EmailChangeRequested,
        UserUpdated,
        UserDeleted,
        UserRestored,
        PasskeyAdded,
        PasskeyRemoved,
        MailRequested,
        AccessDenied,
        MfaEnabled,
        MfaDisabled,
        MfaReset,
        RecoveryCodeUsed,
        RecoveryCodesRegenerated,
        MfaFailed,
        AuditPurged,
    )
}
"""Every event type by its stored name."""


@attrs.frozen(kw_only=True)
class PendingEvent:
    """A stored event claimed for delivery.

    *id* is the outbox's, increasing in the order the events were stored: a
    subscriber uses it to notice an event delivered twice. *event* is
    ``None`` when this version does not know *type_name* (stored by a newer
    one). *attempts* counts this delivery.
    """

    id: int
    type_name: str
    event: Event | None
    attempts: int


E_co = TypeVar("E_co", bound=Event, covariant=True)


@attrs.frozen(kw_only=True)
class Delivery(Generic[E_co]):
    """An event as a subscriber receives it: with its outbox *id* and this *attempt*'s number.

    Delivery is at least once: an event whose delivery failed, or whose
    dispatcher died, comes again with the same *id* and a higher *attempt*;
    a subscriber that must act once keeps the ids it has seen.
    """

    id: int
    event: E_co
    attempt: int
