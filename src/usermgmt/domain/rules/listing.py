"""Listing users: the bounds of a page, and the opaque, signed cursors of a keyset walk."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from datetime import UTC, datetime, timedelta
from typing import Final
from uuid import UUID

import attrs

from usermgmt.domain.errors import InvalidCursorError, InvalidPageError
from usermgmt.domain.model import UserId

MAX_PER_PAGE: Final = 100
MAX_PAGE: Final = 10_000_000


def check_per_page(per_page: int) -> None:
    """Refuse a page size outside 1 to :data:`MAX_PER_PAGE`.

    Raises:
        InvalidPageError: *per_page* is out of range.
    """
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidPageError("per_page", f"must be between 1 and {MAX_PER_PAGE}")


def check_page(page: int) -> None:
    """Refuse a page number outside 1 to :data:`MAX_PAGE`.

    Raises:
        InvalidPageError: *page* is out of range.
    """
    if not 1 <= page <= MAX_PAGE:
        raise InvalidPageError("page", f"must be between 1 and {MAX_PAGE}")


_CURSOR_PREFIX: Final = "u2"
_CURSOR_LAYOUT: Final = struct.Struct(">q16s")
_CURSOR_MAC_BYTES: Final = 16
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
CURSOR_SECRET: Final = "listing-cursor"  # noqa: S105 - a purpose, not a secret
"""The purpose under which the service-wide key that signs listing cursors is kept."""


@attrs.frozen(kw_only=True)
class ListPosition:
    """Where a keyset walk stands: after the user created at *created_at* with *user_id*."""

    created_at: datetime
    user_id: UserId


def _cursor_mac(prefix: str, raw: bytes, key: bytes) -> bytes:
    return hmac.new(key, prefix.encode() + raw, hashlib.sha256).digest()[:_CURSOR_MAC_BYTES]


def seal(prefix: str, raw: bytes, key: bytes) -> str:
    """Return *raw* as an opaque cursor: *prefix*, then base64url of *raw* and its HMAC.

    The prefix names the kind of walk, and is signed too: a cursor of one
    listing is refused by another.
    """
    signed = raw + _cursor_mac(prefix, raw, key)
    return prefix + base64.urlsafe_b64encode(signed).decode("ascii").rstrip("=")


def unseal(prefix: str, cursor: str, size: int, key: bytes) -> bytes:
    """Return the *size* bytes that :func:`seal` with *prefix* and *key* made *cursor* of.

    Raises:
        InvalidCursorError: *cursor* was not made by :func:`seal` with *prefix* and *key*.
    """
    invalid = InvalidCursorError("cursor", "is not a cursor this service handed out")
    length = len(prefix) + -(-(size + _CURSOR_MAC_BYTES) * 4 // 3)  # unpadded base64
    if not cursor.startswith(prefix) or len(cursor) != length:
        raise invalid
    try:
        signed = base64.urlsafe_b64decode(cursor[len(prefix) :] + "==")
    except (binascii.Error, ValueError):
        raise invalid from None
    raw, mac = signed[:size], signed[size:]
    if len(raw) != size or not hmac.compare_digest(mac, _cursor_mac(prefix, raw, key)):
        raise invalid
    if seal(prefix, raw, key) != cursor:
        raise invalid  # a non-canonical spelling of the same bytes
    return raw


def to_micros(moment: datetime) -> int:
    """Return *moment* as microseconds since the Unix epoch (how cursors hold a time)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_micros(micros: int) -> datetime:
    """Return the UTC time *micros* microseconds after the Unix epoch.

    Raises:
        OverflowError: the time is out of range.
    """
    return _EPOCH + timedelta(microseconds=micros)


def encode_cursor(position: ListPosition, key: bytes) -> str:
    """Return the opaque cursor for *position*, signed with *key* (HMAC-SHA256, 128 bits)."""
    raw = _CURSOR_LAYOUT.pack(to_micros(position.created_at), position.user_id.bytes)
    return seal(_CURSOR_PREFIX, raw, key)


def decode_cursor(cursor: str, key: bytes) -> ListPosition:
    """Return the position a cursor from :func:`encode_cursor` with the same *key* stands for.

    A cursor is signed, so that a client cannot forge one or alter one it was
    given: the walk resumes only where this service said it would.

    Raises:
        InvalidCursorError: *cursor* was not made by :func:`encode_cursor` with *key*.
    """
    raw = unseal(_CURSOR_PREFIX, cursor, _CURSOR_LAYOUT.size, key)
    micros, id_bytes = _CURSOR_LAYOUT.unpack(raw)
    try:
        return ListPosition(created_at=from_micros(micros), user_id=UserId(UUID(bytes=id_bytes)))
    except OverflowError:  # signed by us, so only a key shared with something else gets here
        raise InvalidCursorError("cursor", "is not a cursor this service handed out") from None
