"""Device tokens: proof that a device signed in as a user before (OWASP's device cookie).

A login that presents the user's valid device token is exempt from the
per-account throttle ceiling, so an attacker who trips the ceiling from many
addresses locks out only devices that never signed in before.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

import attrs

from usermgmt.domain.model import User, UserId, hash_token

hash_device_token: Final = hash_token
"""The digest a device token is stored under (:func:`~usermgmt.domain.model.hash_token`)."""


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
