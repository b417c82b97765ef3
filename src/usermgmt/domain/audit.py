"""The audit log: who did what to which account, when, from where, and how it ended.

An audit entry is written from a domain event, in the unit of work that
records the event (so with the change, or not at all); :func:`audit_entries`
says which rows an event makes. Most events make one row whose type is the
event's name in snake case; a few are named for what an operator looks for
(``login_succeeded``, ``role_changed``), a user update makes one row per
kind of change, and a token refresh, routine and frequent, makes none.

An entry holds ids, the request's context and, as ``details``, the facts
of the event that :data:`_DETAILS` names for its type, and no others: an
event may carry what a subscriber needs and the log must not keep (a queued
mail's text holds a one-time link), so a field reaches the log only when it
is named here, and a type not named here records its ids alone.
"""

from __future__ import annotations

import enum
import re
import struct
from collections.abc import Mapping
from datetime import datetime
from typing import Final
from uuid import UUID

import attrs

from usermgmt.domain.errors import InvalidCursorError
from usermgmt.domain.events import (
    NO_CONTEXT,
    AccessDenied,
    AuditPurged,
    Event,
    LoggedIn,
    LoggedOut,
    LoginFailed,
    MailRequested,
    MfaDisabled,
    MfaEnabled,
    MfaFailed,
    MfaReset,
    PasskeyAdded,
    PasskeyRemoved,
    RecoveryCodesRegenerated,
    RecoveryCodeUsed,
    RefreshTokenReused,
    RequestContext,
    SessionsRevoked,
    TokenRefreshed,
    UserRegistered,
    UserUpdated,
)
from usermgmt.domain.model import SessionId, UserId
from usermgmt.domain.rules.listing import from_micros, seal, to_micros, unseal

Detail = str | int | bool | None | list[str]
"""What a value of ``details`` may be: JSON scalars and lists of strings."""


def _copy(details: Mapping[str, Detail]) -> dict[str, Detail]:
    return dict(details)


class AuditOutcome(enum.StrEnum):
    """How the recorded action ended."""

    SUCCESS = "success"
    FAILURE = "failure"
    """Refused for what was presented: a wrong password, a spent token."""
    DENIED = "denied"
    """Refused for who asked: not allowed (403)."""


@attrs.frozen(kw_only=True)
class AuditEntry:
    """One row of the audit log; *id* is ``None`` until it is stored.

    *actor_id* is who acted (``None`` for anonymous callers and the operator),
    *user_id* the account acted on, *session_id* the session concerned.
    """

    at: datetime
    type: str
    outcome: AuditOutcome = AuditOutcome.SUCCESS
    actor_id: UserId | None = None
    user_id: UserId | None = None
    session_id: SessionId | None = None
    context: RequestContext = NO_CONTEXT
    details: Mapping[str, Detail] = attrs.field(factory=dict, converter=_copy)
    id: int | None = None


@attrs.frozen(kw_only=True)
class AuditFilter:
    """Which rows a listing shows: every bound that is not ``None`` applies.

    *since* is inclusive, *until* exclusive.
    """

    user_id: UserId | None = None
    type: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@attrs.frozen(kw_only=True)
class AuditPosition:
    """Where a walk of the log stands: after the row at *at* with *id*, newest first."""

    at: datetime
    id: int


@attrs.frozen(kw_only=True)
class AuditSlice:
    """One page of audit rows, newest first; *next_cursor* is ``None`` after the last."""

    items: tuple[AuditEntry, ...]
    next_cursor: str | None


_NOT_AUDITED: Final = frozenset({TokenRefreshed})
"""Events that make no row: a refresh comes every few minutes from every session."""

_NAMES: Final[dict[type[Event], str]] = {
    LoggedIn: "login_succeeded",
    MailRequested: "mail_queued",
}
_DETAILS: Final[dict[type[Event], tuple[str, ...]]] = {
    UserRegistered: ("role",),
    LoggedIn: ("amr",),
    LoginFailed: ("reason",),
    PasskeyAdded: ("passkey_id", "name"),
    PasskeyRemoved: ("passkey_id",),
    RefreshTokenReused: ("session_revoked",),
    LoggedOut: ("all_sessions",),
    SessionsRevoked: ("count",),
    AccessDenied: ("action",),
    AuditPurged: ("before", "count"),
    MailRequested: ("kind", "to_address"),  # never its text: it may hold a one-time link
    MfaReset: ("sessions_ended",),
    RecoveryCodeUsed: ("remaining",),
    MfaFailed: ("reason",),
}
"""The fields of each event type that the log keeps as ``details``."""
_FAILURES: Final = frozenset({LoginFailed, RefreshTokenReused, MfaFailed})
_SELF_ACTIONS: Final = frozenset(
    {LoggedIn, LoggedOut, MfaEnabled, MfaDisabled, RecoveryCodeUsed, RecoveryCodesRegenerated}
)
"""Events without an *actor_id* whose user acted themselves."""
_UPDATE_TYPES: Final = {
    "name": "name_changed",
    "email": "email_changed",
    "role": "role_changed",
}


def type_name(kind: type[Event]) -> str:
    """Return the audit type of the rows an event of *kind* makes.

    ``UserDeleted`` makes ``user_deleted``.
    """
    return _NAMES.get(kind) or re.sub(r"(?<!^)(?=[A-Z])", "_", kind.__name__).lower()


def audit_entries(event: Event) -> list[AuditEntry]:
    """Return the audit rows that *event* makes: usually one, none for a routine refresh."""
    kind = type(event)
    if kind in _NOT_AUDITED:
        return []
    fields = {f.name: getattr(event, f.name) for f in attrs.fields(kind)}
    user_id = fields.get("user_id")
    session_id = fields.get("session_id") or fields.get("kept_session_id")
    actor_id = fields.get("actor_id", user_id if kind in _SELF_ACTIONS else None)
    base = AuditEntry(
        at=event.at,
        type=type_name(kind),
        outcome=_outcome(kind),
        actor_id=actor_id,
        user_id=user_id,
        session_id=session_id,
        context=event.context,
        details={name: _plain(fields[name]) for name in _DETAILS.get(kind, ())},
    )
    if isinstance(event, UserUpdated):
        return _update_entries(event, base)
    return [base]


def _outcome(kind: type[Event]) -> AuditOutcome:
    if kind is AccessDenied:
        return AuditOutcome.DENIED
    return AuditOutcome.FAILURE if kind in _FAILURES else AuditOutcome.SUCCESS


def _update_entries(event: UserUpdated, base: AuditEntry) -> list[AuditEntry]:
    """One row per kind of change: an operator looks for role changes, not "updates"."""
    entries = []
    for field in event.changed:
        if field == "is_active":
            name = "user_activated" if event.is_active else "user_deactivated"
            details: dict[str, Detail] = {}
        else:
            name = _UPDATE_TYPES.get(field, f"{field}_changed")
            details = {"role": str(event.role)} if field == "role" else {}
        entries.append(attrs.evolve(base, type=name, details=details))
    return entries


def _plain(value: object) -> Detail:
    """Return an event field's value as JSON would hold it."""
    if value is None or isinstance(value, bool | int | str):
        return value  # a StrEnum is a str already, and stays comparable to one
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, tuple | list):
        return [str(item) for item in value]
    return str(value)


_CURSOR_PREFIX: Final = "a1"
_CURSOR_LAYOUT: Final = struct.Struct(">qq")


def encode_audit_cursor(position: AuditPosition, key: bytes) -> str:
    """Return the opaque, signed cursor of *position* (signed like the users' cursors)."""
    return seal(_CURSOR_PREFIX, _CURSOR_LAYOUT.pack(to_micros(position.at), position.id), key)


def decode_audit_cursor(cursor: str, key: bytes) -> AuditPosition:
    """Return the position that :func:`encode_audit_cursor` made *cursor* of with *key*.

    Raises:
        InvalidCursorError: *cursor* is not one this service handed out, or was altered.
    """
    micros, row_id = _CURSOR_LAYOUT.unpack(unseal(_CURSOR_PREFIX, cursor, _CURSOR_LAYOUT.size, key))
    try:
        return AuditPosition(at=from_micros(micros), id=row_id)
    except OverflowError:  # signed by us, so only a key shared with something else gets here
        raise InvalidCursorError("cursor", "is not a cursor this service handed out") from None
