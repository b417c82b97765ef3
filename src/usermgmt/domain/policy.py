"""Rules that decide: the password policy, and who may do what."""

from __future__ import annotations

import base64
import binascii
import struct
import unicodedata
from collections.abc import Container
from datetime import UTC, datetime, timedelta
from typing import Final
from uuid import UUID

import attrs

from usermgmt.domain.errors import (
    InvalidCursorError,
    PermissionDeniedError,
    WeakPasswordError,
)
from usermgmt.domain.model import (
    SYSTEM,
    Actor,
    Email,
    Principal,
    UserId,
)

PASSWORD_MAX_LENGTH: Final = 1024
SERVICE_NAME: Final = "usermgmt"


def normalize_password(raw: str) -> str:
    """Return the form of *raw* that is checked and hashed (NFKC, per NIST SP 800-63B).

    The same password typed in another Unicode normal form therefore verifies.
    """
    return unicodedata.normalize("NFKC", raw)


@attrs.frozen(kw_only=True)
class PasswordPolicy:
    """NIST SP 800-63B: long enough, bounded, not common, no composition rules."""

    min_length: int = 8
    max_length: int = PASSWORD_MAX_LENGTH
    common: Container[str] = attrs.field(default=frozenset(), repr=False)
    """Lowercase passwords refused as common or breached."""

    def accept(self, password: str, email: Email) -> str:
        """Return the normalized *password* if the policy allows it for *email*.

        Length is counted in code points of the NFKC form; the bound on the raw
        form is checked first so that an oversized value costs nothing more.

        Raises:
            WeakPasswordError: with the reason the password was refused.
        """
        too_long = f"must be at most {self.max_length} characters"
        if len(password) > self.max_length:
            raise WeakPasswordError("password", too_long)
        normalized = normalize_password(password)
        if len(normalized) > self.max_length:
            raise WeakPasswordError("password", too_long)
        if len(normalized) < self.min_length:
            raise WeakPasswordError("password", f"must be at least {self.min_length} characters")
        folded = normalized.casefold()
        local_part = email.value.rsplit("@", 1)[0]
        if folded in {email.value.casefold(), local_part.casefold(), SERVICE_NAME}:
            raise WeakPasswordError("password", "must not be the email address or the service name")
        if folded in self.common:
            raise WeakPasswordError(
                "password", "is too common: it appears in lists of breached passwords"
            )
        return normalized


# --- who may do what -----------------------------------------------------------------------


def is_privileged(actor: Actor) -> bool:
    """Whether *actor* has administrative rights (an admin, or the operator)."""
    return actor is SYSTEM or (isinstance(actor, Principal) and actor.user.is_admin)


def is_self(actor: Actor, user_id: UserId) -> bool:
    """Whether *actor* is the user *user_id* acting on their own account."""
    return isinstance(actor, Principal) and actor.user.id == user_id


def require_admin(actor: Actor, action: str) -> None:
    """Refuse *action* unless *actor* is privileged.

    Raises:
        PermissionDeniedError: *actor* is a plain user.
    """
    if not is_privileged(actor):
        raise PermissionDeniedError(action)


def require_self_or_admin(actor: Actor, user_id: UserId, action: str) -> None:
    """Refuse *action* on *user_id* unless it is the actor's own account or the actor is privileged.

    Checked before any lookup, so a plain user cannot probe which ids exist.

    Raises:
        PermissionDeniedError: a plain user named somebody else.
    """
    if not (is_self(actor, user_id) or is_privileged(actor)):
        raise PermissionDeniedError(action)


# --- opaque listing cursors ------------------------------------------------------------------

_CURSOR_PREFIX: Final = "u1"
_CURSOR_LAYOUT: Final = struct.Struct(">q16s")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


@attrs.frozen(kw_only=True)
class ListPosition:
    """Where a keyset walk stands: after the user created at *created_at* with *user_id*."""

    created_at: datetime
    user_id: UserId


def encode_cursor(position: ListPosition) -> str:
    """Return the opaque cursor for *position*."""
    micros = (position.created_at - _EPOCH) // timedelta(microseconds=1)
    raw = _CURSOR_LAYOUT.pack(micros, position.user_id.bytes)
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> ListPosition:
    """Return the position a cursor from :func:`encode_cursor` stands for.

    Raises:
        InvalidCursorError: *cursor* was not made by :func:`encode_cursor`.
    """
    invalid = InvalidCursorError("cursor", "is not a cursor this service handed out")
    if not cursor.startswith(_CURSOR_PREFIX) or len(cursor) != len(_CURSOR_PREFIX) + 32:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor[len(_CURSOR_PREFIX) :])
        micros, id_bytes = _CURSOR_LAYOUT.unpack(raw)
        position = ListPosition(
            created_at=_EPOCH + timedelta(microseconds=micros),
            user_id=UserId(UUID(bytes=id_bytes)),
        )
    except (binascii.Error, struct.error, ValueError, OverflowError):
        raise invalid from None
    if encode_cursor(position) != cursor:
        raise invalid  # a non-canonical spelling of the same bytes
    return position
