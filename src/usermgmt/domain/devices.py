"""Device tokens: proof that a device signed in as a user before (OWASP's device cookie).

A login that presents the user's valid device token is exempt from the
per-account throttle ceiling, so an attacker who trips the ceiling from many
addresses locks out only devices that never signed in before.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import attrs

from usermgmt.domain.model import User, UserId


def hash_device_token(token: str) -> bytes:
    """Return the digest under which a device token is stored (never the token itself).

    SHA-256 suffices: the token is 256 random bits, so no slow hash is needed
    to resist guessing, and a database leak cannot be replayed.
    """
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


@attrs.frozen(kw_only=True)
class DeviceToken:
    """The stored form of one device token: bound to a user, valid until it expires."""

    token_hash: bytes = attrs.field(repr=False)
    user_id: UserId
    issued_at: datetime
    expires_at: datetime

    @classmethod
    def issue(
        cls, *, token_hash: bytes, user_id: UserId, now: datetime, lifetime: timedelta
    ) -> DeviceToken:
        """Return a token of *user_id* issued at *now* that lives *lifetime*."""
        return cls(token_hash=token_hash, user_id=user_id, issued_at=now, expires_at=now + lifetime)

    def vouches_for(self, user: User | None, now: datetime) -> bool:
        """Whether this token, presented at *now*, proves a device of *user*.

        A deleted or deactivated user's tokens vouch for nothing.
        """
        return (
            user is not None
            and user.id == self.user_id
            and user.can_sign_in
            and now < self.expires_at
        )
