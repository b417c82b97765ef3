"""Credentials: what a user proves who they are with, kept apart from the user.

A password today; TOTP secrets, recovery codes and passkeys are credentials
of other kinds in the same store. The user entity carries none of them, so
that no authenticated request reads a secret it does not need.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import ClassVar, NewType
from uuid import UUID

import attrs

from usermgmt.domain.model import UserId

CredentialId = NewType("CredentialId", UUID)


class CredentialKind(enum.StrEnum):
    """What a credential is; each kind keeps its own fields beside the common ones."""

    PASSWORD = "password"  # noqa: S105 - the name of a kind, not a password
    TOTP = "totp"
    RECOVERY_CODE = "recovery_code"
    PASSKEY = "passkey"


@attrs.frozen(kw_only=True)
class PasswordCredential:
    """A user's password, stored as its hash (an argon2id PHC string, parameters included).

    A user has at most one. *updated_at* is when the password last changed (a
    re-hash of the same password with new parameters is no change);
    *last_used_at* is the last successful sign-in with it.
    """

    kind: ClassVar[CredentialKind] = CredentialKind.PASSWORD

    id: CredentialId
    user_id: UserId
    password_hash: str = attrs.field(repr=False)
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None = None

    @classmethod
    def set(
        cls, *, id: CredentialId, user_id: UserId, password_hash: str, now: datetime
    ) -> PasswordCredential:
        """Return the first password of user *user_id*, set at *now*."""
        return cls(
            id=id, user_id=user_id, password_hash=password_hash, created_at=now, updated_at=now
        )

    def changed(self, password_hash: str, now: datetime) -> PasswordCredential:
        """Return this credential holding a new password's *password_hash* from *now* on."""
        return attrs.evolve(self, password_hash=password_hash, updated_at=now)


@attrs.frozen(kw_only=True)
class TotpCredential:
    """A user's TOTP key (RFC 6238), pending until a code from the user's app confirms it.

    A user has at most one: a new enrolment replaces a pending one. *secret*
    is the base32 key the app holds; *last_step* is the last time step
    (``unix time // 30``) whose code was accepted, so that no code is
    accepted twice. *confirmed* is whether login asks for it.
    """

    kind: ClassVar[CredentialKind] = CredentialKind.TOTP

    id: CredentialId
    user_id: UserId
    secret: str = attrs.field(repr=False)
    confirmed: bool = False
    last_step: int | None = None
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None = None

    @classmethod
    def enrol(
        cls, *, id: CredentialId, user_id: UserId, secret: str, now: datetime
    ) -> TotpCredential:
        """Return a new pending TOTP key of user *user_id*."""
        return cls(id=id, user_id=user_id, secret=secret, created_at=now, updated_at=now)


@attrs.frozen(kw_only=True)
class RecoveryCode:
    """One single-use recovery code, stored as its digest (see ``rules.mfa.hash_recovery_code``)."""

    kind: ClassVar[CredentialKind] = CredentialKind.RECOVERY_CODE

    id: CredentialId
    user_id: UserId
    code_hash: str = attrs.field(repr=False)
    created_at: datetime
