"""One-time tokens: the proof a link in a mail (or a login challenge) carries.

Email verification, email change, password reset and the second step of a
login each hand out a token that works once. Each token is 256 random bits,
given to the user once and stored only as its SHA-256 digest, bound to one
user and one purpose, and void after its lifetime, when a newer token of the
same purpose is issued to the same user, or when the user's password changes.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

import attrs

from usermgmt.domain.model import UserId, hash_token

TOKEN_BYTES: Final = 32
"""256 bits from :mod:`secrets`, as the contract asks."""


class Purpose(enum.StrEnum):
    """What a one-time token may be spent on; one purpose each."""

    VERIFY_EMAIL = "verify_email"
    CHANGE_EMAIL = "change_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose's name, not a password
    LOGIN_CHALLENGE = "login_challenge"


@attrs.frozen(kw_only=True)
class IssueQuota:
    """How often a user may be sent a token of one purpose: the mail links' throttle.

    At most one token per *min_interval*, and *per_window* per *window*;
    beyond that, nothing is issued (and so nothing is mailed).
    """

    min_interval: timedelta = timedelta(seconds=60)
    per_window: int = 5
    window: timedelta = timedelta(hours=1)


MAIL_QUOTA: Final = IssueQuota()
"""The contract's limit for mailed links: one per address and purpose per minute, five an hour."""


hash_one_time_token: Final = hash_token
"""The digest a one-time token is stored under (:func:`~usermgmt.domain.model.hash_token`)."""


@attrs.frozen(kw_only=True)
class OneTimeToken:
    """The stored form of one one-time token."""

    token_hash: bytes = attrs.field(repr=False)
    user_id: UserId
    purpose: Purpose
    issued_at: datetime
    expires_at: datetime
    data: Mapping[str, str] = attrs.field(factory=dict)
    """What the token carries beyond its user: the new address of an email change."""

    @classmethod
    def issue(
        cls,
        *,
        user_id: UserId,
        purpose: Purpose,
        now: datetime,
        lifetime: timedelta,
        data: Mapping[str, str] | None = None,
    ) -> tuple[str, OneTimeToken]:
        """Return a new token for the user to present, and the form to store."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        stored = cls(
            token_hash=hash_one_time_token(token),
            user_id=user_id,
            purpose=purpose,
            issued_at=now,
            expires_at=now + lifetime,
            data=dict(data or {}),
        )
        return token, stored
