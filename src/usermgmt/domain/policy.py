"""Rules that decide: the password policy, and who may do what."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import itertools
import struct
import sys
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
from usermgmt.domain.text import is_blank, is_control, nfkc_casefold, without_default_ignorables

PASSWORD_MAX_LENGTH: Final = 1024
SERVICE_NAME: Final = "usermgmt"


def normalize_password(raw: str) -> str:
    """Return the form of *raw* that is checked and hashed (NFKC, per NIST SP 800-63B).

    The same password typed in another Unicode normal form therefore verifies.
    """
    return unicodedata.normalize("NFKC", raw)


@attrs.frozen(kw_only=True)
class PasswordPolicy:
    """NIST SP 800-63B: long enough, bounded, not common, no composition rules.

    Refused, each with its own reason: too long or too short (code points of
    the NFKC form), a control character, nothing but white space or invisible
    characters, one character or a short group of characters repeated, a run
    of consecutive characters (``12345678``, ``abcdefgh``, ``98765432``, digits
    wrapping round as in ``12345678901``), the email or its local part or the
    service's name, and the bundled list of breached passwords.
    """

    min_length: int = 8
    max_length: int = PASSWORD_MAX_LENGTH
    common: Container[str] = attrs.field(default=frozenset(), repr=False)
    """Lowercase passwords refused as common or breached."""

    def accept(self, password: str, email: Email) -> str:
        """Return the normalized *password* if the policy allows it for *email*.

        Length is counted in code points of the NFKC form; the bound on the raw
        form is checked first so that an oversized value costs nothing more.
        The rules on patterns look at what can be seen: invisible characters are
        left out, and letter case does not count.

        Raises:
            WeakPasswordError: with the reason the password was refused.
        """
        too_long = f"must be at most {self.max_length} characters"
        if len(password) > self.max_length:
            raise WeakPasswordError("password", too_long)
        normalized = normalize_password(password)
        if len(normalized) > self.max_length:
            raise WeakPasswordError("password", too_long)
        if any(is_control(c) for c in normalized):
            raise WeakPasswordError("password", "must not contain control characters")
        if len(normalized) < self.min_length:
            raise WeakPasswordError("password", f"must be at least {self.min_length} characters")
        if all(is_blank(c) for c in normalized):
            raise WeakPasswordError(
                "password", "must not be only white space or invisible characters"
            )
        local_part = email.value.rsplit("@", 1)[0]
        if nfkc_casefold(normalized) in {email.key, nfkc_casefold(local_part), SERVICE_NAME}:
            raise WeakPasswordError("password", "must not be the email address or the service name")
        seen = without_default_ignorables(normalized).casefold()
        if seen in self.common:
            raise WeakPasswordError(
                "password", "is too common: it appears in lists of breached passwords"
            )
        self._refuse_patterns(seen)
        return normalized

    def _refuse_patterns(self, seen: str) -> None:
        period = _shortest_period(seen)
        if period == 1 and len(seen) > 1:
            raise WeakPasswordError("password", "must not be one character repeated")
        # A repeated group is as strong as one copy of it, which must pass the length rule.
        if 2 * period <= len(seen) and period < self.min_length:
            raise WeakPasswordError(
                "password",
                f"must not be a group of fewer than {self.min_length} characters repeated",
            )
        if _is_run(seen, 1) or _is_run(seen, -1):
            raise WeakPasswordError(
                "password",
                "must not be a run of consecutive characters such as 12345678 or abcdefgh",
            )


def _shortest_period(text: str) -> int:
    """Return the least *p* with ``text[i] == text[i + p]`` throughout (linear time).

    Knuth-Morris-Pratt's failure function: *text* minus its longest border.
    Linear, so a 1024-character password costs no more than a short one.
    """
    border = [0] * len(text)
    matched = 0
    for i in range(1, len(text)):
        while matched and text[i] != text[matched]:
            matched = border[matched - 1]
        if text[i] == text[matched]:
            matched += 1
        border[i] = matched
    return len(text) - (border[-1] if text else 0)


# Alphabets that wrap round: after 9 comes 0 (…7890123…), after z comes a.
_CYCLES: Final = ("0123456789", "abcdefghijklmnopqrstuvwxyz")


def _is_run(text: str, step: int) -> bool:
    """Whether every character of *text* follows the one before it by *step* (+1 or -1).

    Digits and the Latin letters wrap round; any other character steps by code
    point (``αβγδεζηθ``, ``абвгдежз``).
    """
    return len(text) > 1 and all(_follower(a, step) == b for a, b in itertools.pairwise(text))


def _follower(char: str, step: int) -> str:
    for cycle in _CYCLES:
        index = cycle.find(char)
        if index >= 0:
            return cycle[(index + step) % len(cycle)]
    code = ord(char) + step
    return chr(code) if 0 <= code <= sys.maxunicode else ""


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

_CURSOR_PREFIX: Final = "u2"
_CURSOR_LAYOUT: Final = struct.Struct(">q16s")
_CURSOR_MAC_BYTES: Final = 16
_CURSOR_LENGTH: Final = len(_CURSOR_PREFIX) + 54  # base64url of 24 + 16 bytes, unpadded
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
CURSOR_SECRET: Final = "listing-cursor"  # noqa: S105 - a purpose, not a secret
"""The purpose under which the service-wide key that signs listing cursors is kept."""


@attrs.frozen(kw_only=True)
class ListPosition:
    """Where a keyset walk stands: after the user created at *created_at* with *user_id*."""

    created_at: datetime
    user_id: UserId


def _cursor_mac(raw: bytes, key: bytes) -> bytes:
    return hmac.new(key, _CURSOR_PREFIX.encode() + raw, hashlib.sha256).digest()[:_CURSOR_MAC_BYTES]


def encode_cursor(position: ListPosition, key: bytes) -> str:
    """Return the opaque cursor for *position*, signed with *key* (HMAC-SHA256, 128 bits)."""
    micros = (position.created_at - _EPOCH) // timedelta(microseconds=1)
    raw = _CURSOR_LAYOUT.pack(micros, position.user_id.bytes)
    signed = raw + _cursor_mac(raw, key)
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(signed).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, key: bytes) -> ListPosition:
    """Return the position a cursor from :func:`encode_cursor` with the same *key* stands for.

    A cursor is signed, so that a client cannot forge one or alter one it was
    given: the walk resumes only where this service said it would.

    Raises:
        InvalidCursorError: *cursor* was not made by :func:`encode_cursor` with *key*.
    """
    invalid = InvalidCursorError("cursor", "is not a cursor this service handed out")
    if not cursor.startswith(_CURSOR_PREFIX) or len(cursor) != _CURSOR_LENGTH:
        raise invalid
    try:
        signed = base64.urlsafe_b64decode(cursor[len(_CURSOR_PREFIX) :] + "==")
    except (binascii.Error, ValueError):
        raise invalid from None
    raw, mac = signed[: _CURSOR_LAYOUT.size], signed[_CURSOR_LAYOUT.size :]
    if not hmac.compare_digest(mac, _cursor_mac(raw, key)):
        raise invalid
    micros, id_bytes = _CURSOR_LAYOUT.unpack(raw)
    try:
        position = ListPosition(
            created_at=_EPOCH + timedelta(microseconds=micros),
            user_id=UserId(UUID(bytes=id_bytes)),
        )
    except OverflowError:  # signed by us, so only a key shared with something else gets here
        raise invalid from None
    if encode_cursor(position, key) != cursor:
        raise invalid  # a non-canonical spelling of the same bytes
    return position
