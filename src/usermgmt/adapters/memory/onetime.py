"""One-time tokens in memory."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from usermgmt.adapters.memory.database import InMemoryDatabase
from usermgmt.adapters.memory.journal import Journal
from usermgmt.domain.model import UserId
from usermgmt.domain.onetime import OneTimeToken, Purpose


class InMemoryOneTimeTokenStore:
    """One-time tokens in a dict keyed by their digest (transactions are serialized)."""

    def __init__(self, db: InMemoryDatabase, journal: Journal) -> None:
        """Work on *db*, recording every change in *journal*."""
        self._db = db
        self._journal = journal

    async def issue(self, token: OneTimeToken) -> None:
        """Store *token*, forgetting the user's earlier token of its purpose."""
        await self.void(token.user_id, (token.purpose,))
        self._journal.put(self._db.one_time_tokens, token.token_hash, token)

    async def spend(
        self, token_hash: bytes, purpose: Purpose, now: datetime
    ) -> OneTimeToken | None:
        """Forget and return the live token of *purpose* stored under *token_hash*."""
        token = self._db.one_time_tokens.get(token_hash)
        if token is None or token.purpose != purpose or now >= token.expires_at:
            return None
        self._journal.pop(self._db.one_time_tokens, token_hash)
        return token

    async def void(self, user_id: UserId, purposes: Collection[Purpose] | None = None) -> int:
        """Forget the user's tokens of *purposes* (all of them by default)."""
        gone = [
            h
            for h, t in self._db.one_time_tokens.items()
            if t.user_id == user_id and (purposes is None or t.purpose in purposes)
        ]
        for token_hash in gone:
            self._journal.pop(self._db.one_time_tokens, token_hash)
        return len(gone)

    async def purge(self, before: datetime) -> int:
        """Forget tokens that expired before *before*."""
        gone = [h for h, t in self._db.one_time_tokens.items() if t.expires_at < before]
        for token_hash in gone:
            self._journal.pop(self._db.one_time_tokens, token_hash)
        return len(gone)
