"""Credentials in memory: passwords (one per user), passkeys, TOTP keys, recovery codes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from usermgmt.adapters.memory.database import InMemoryDatabase
from usermgmt.adapters.memory.journal import Journal
from usermgmt.domain.credentials import (
    CredentialId,
    PasswordCredential,
    RecoveryCode,
    TotpCredential,
)
from usermgmt.domain.model import Email, User, UserId
from usermgmt.domain.passkeys import PasskeyCredential


class InMemoryCredentialStore:
    """Passwords in a dict by credential id, indexed by user as PostgreSQL's unique index is."""

    def __init__(self, db: InMemoryDatabase, journal: Journal) -> None:
        """Work on *db*, recording every change in *journal*."""
        self._db = db
        self._journal = journal

    async def add_password(self, credential: PasswordCredential) -> None:
        """Store the user's first password (see ``CredentialStore.add_password``)."""
        if credential.user_id in self._db.passwords:
            msg = f"user {credential.user_id} has a password already"
            raise ValueError(msg)
        self._journal.put(self._db.credentials, credential.id, credential)
        self._journal.put(self._db.passwords, credential.user_id, credential.id)

    async def password(
        self, user_id: UserId, *, for_update: bool = False
    ) -> PasswordCredential | None:
        """Return the user's password; transactions are serialized already."""
        del for_update
        credential_id = self._db.passwords.get(user_id)
        return None if credential_id is None else self._db.credentials[credential_id]

    async def for_login(self, email: Email) -> tuple[User, PasswordCredential | None] | None:
        """Return the live user with *email* and their password."""
        user_id = self._db.live_emails.get(email.key)
        if user_id is None:
            return None
        return self._db.users[user_id], await self.password(user_id)

    async def change_password(self, credential: PasswordCredential) -> None:
        """Overwrite the stored hash and change time of *credential*."""
        stored = self._db.credentials[credential.id]
        changed = attrs.evolve(
            stored, password_hash=credential.password_hash, updated_at=credential.updated_at
        )
        self._journal.put(self._db.credentials, credential.id, changed)

    async def replace_password_hash(self, credential_id: CredentialId, old: str, new: str) -> bool:
        """Swap the hash if it is still *old*."""
        stored = self._db.credentials.get(credential_id)
        if stored is None or stored.password_hash != old:
            return False
        self._journal.put(
            self._db.credentials, credential_id, attrs.evolve(stored, password_hash=new)
        )
        return True

    async def mark_used(self, credential_id: CredentialId, now: datetime) -> None:
        """Record a sign-in at *now*, never moving the time back."""
        passkey = self._db.passkeys.get(credential_id)
        if passkey is not None:
            last = now if passkey.last_used_at is None else max(passkey.last_used_at, now)
            used = attrs.evolve(passkey, last_used_at=last)
            self._journal.put(self._db.passkeys, credential_id, used)
            return
        stored = self._db.credentials.get(credential_id)
        if stored is None:
            return
        last = now if stored.last_used_at is None else max(stored.last_used_at, now)
        self._journal.put(
            self._db.credentials, credential_id, attrs.evolve(stored, last_used_at=last)
        )

    async def add_passkey(self, passkey: PasskeyCredential) -> bool:
        """Store a new passkey unless its credential ID is taken."""
        if any(p.credential_id == passkey.credential_id for p in self._db.passkeys.values()):
            return False
        self._journal.put(self._db.passkeys, passkey.id, passkey)
        return True

    async def passkeys(self, user_id: UserId) -> list[PasskeyCredential]:
        """Return the user's passkeys, oldest first."""
        found = [p for p in self._db.passkeys.values() if p.user_id == user_id]
        return sorted(found, key=lambda p: (p.created_at, p.id))

    async def passkey_for_login(
        self, credential_id: bytes
    ) -> tuple[User, PasskeyCredential] | None:
        """Return the live user holding the passkey with *credential_id*, and the passkey."""
        for passkey in self._db.passkeys.values():
            if passkey.credential_id == credential_id:
                user = self._db.users.get(passkey.user_id)
                if user is None or user.deleted_at is not None:
                    return None
                return user, passkey
        return None

    async def update_passkey_counter(
        self,
        credential_id: CredentialId,
        *,
        expected: int,
        sign_count: int,
        backed_up: bool,
        now: datetime,
    ) -> bool:
        """Set the counter if it is still *expected* (transactions are serialized)."""
        stored = self._db.passkeys.get(credential_id)
        if stored is None or stored.sign_count != expected:
            return False
        changed = attrs.evolve(stored, sign_count=sign_count, backed_up=backed_up, updated_at=now)
        self._journal.put(self._db.passkeys, credential_id, changed)
        return True

    async def remove_passkey(self, user_id: UserId, passkey_id: CredentialId) -> bool:
        """Forget the user's passkey *passkey_id*, if it is theirs."""
        stored = self._db.passkeys.get(passkey_id)
        if stored is None or stored.user_id != user_id:
            return False
        self._journal.pop(self._db.passkeys, passkey_id)
        return True

    async def totp(self, user_id: UserId, *, for_update: bool = False) -> TotpCredential | None:
        """Return the user's TOTP key; transactions are serialized already."""
        del for_update
        return self._db.totps.get(user_id)

    async def set_totp(self, credential: TotpCredential) -> None:
        """Store the user's TOTP key over the one they had."""
        self._journal.put(self._db.totps, credential.user_id, credential)

    def _totp_by_id(self, credential_id: CredentialId) -> TotpCredential | None:
        return next((t for t in self._db.totps.values() if t.id == credential_id), None)

    async def confirm_totp(self, credential_id: CredentialId, step: int, now: datetime) -> bool:
        """Turn the pending key on, if it still is pending."""
        stored = self._totp_by_id(credential_id)
        if stored is None or stored.confirmed:
            return False
        confirmed = attrs.evolve(
            stored, confirmed=True, last_step=step, updated_at=now, last_used_at=now
        )
        self._journal.put(self._db.totps, stored.user_id, confirmed)
        return True

    async def accept_totp_step(self, credential_id: CredentialId, step: int, now: datetime) -> bool:
        """Move the last accepted step forward to *step*, if it is later."""
        stored = self._totp_by_id(credential_id)
        if stored is None or not stored.confirmed:
            return False
        if stored.last_step is not None and stored.last_step >= step:
            return False
        last = now if stored.last_used_at is None else max(stored.last_used_at, now)
        accepted = attrs.evolve(stored, last_step=step, last_used_at=last)
        self._journal.put(self._db.totps, stored.user_id, accepted)
        return True

    async def replace_recovery_codes(self, user_id: UserId, codes: Sequence[RecoveryCode]) -> None:
        """Forget the user's codes and store *codes*."""
        self._drop_recovery_codes(user_id)
        for code in codes:
            self._journal.put(self._db.recovery_codes, (user_id, code.code_hash), code)

    def _drop_recovery_codes(self, user_id: UserId) -> int:
        owned = [key for key in self._db.recovery_codes if key[0] == user_id]
        for key in owned:
            self._journal.pop(self._db.recovery_codes, key)
        return len(owned)

    async def spend_recovery_code(self, user_id: UserId, code_hash: str) -> bool:
        """Forget the code if the user has it."""
        if (user_id, code_hash) not in self._db.recovery_codes:
            return False
        self._journal.pop(self._db.recovery_codes, (user_id, code_hash))
        return True

    async def count_recovery_codes(self, user_id: UserId) -> int:
        """Count the user's codes."""
        return sum(1 for key in self._db.recovery_codes if key[0] == user_id)

    async def remove_second_factors(self, user_id: UserId) -> int:
        """Forget the user's TOTP key and recovery codes."""
        removed = self._drop_recovery_codes(user_id)
        if user_id in self._db.totps:
            self._journal.pop(self._db.totps, user_id)
            removed += 1
        return removed
