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
