"""Credentials in memory: passwords by id, with the one-password-per-user index."""

from __future__ import annotations

from datetime import datetime

import attrs

from usermgmt.adapters.memory.database import InMemoryDatabase
from usermgmt.adapters.memory.journal import Journal
from usermgmt.domain.credentials import CredentialId, PasswordCredential
from usermgmt.domain.model import Email, User, UserId


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
        stored = self._db.credentials.get(credential_id)
        if stored is None:
            return
        last = now if stored.last_used_at is None else max(stored.last_used_at, now)
        self._journal.put(
            self._db.credentials, credential_id, attrs.evolve(stored, last_used_at=last)
        )
