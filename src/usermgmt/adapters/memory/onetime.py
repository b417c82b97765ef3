"""One-time tokens in memory."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from usermgmt.adapters.memory.database import InMemoryDatabase, IssueWindow
from usermgmt.adapters.memory.journal import Journal
from usermgmt.domain.model import UserId
from usermgmt.domain.onetime import IssueQuota, OneTimeToken, Purpose


class InMemoryOneTimeTokenStore:
    """One-time tokens in a dict keyed by their digest (transactions are serialized).

    Beside it, each user's live token of a purpose has its :class:`IssueWindow`,
    the count its quota is checked against (the columns PostgreSQL keeps in the row).
    """

    def __init__(self, db: InMemoryDatabase, journal: Journal) -> None:
        """Work on *db*, recording every change in *journal*."""
        self._db = db
        self._journal = journal

    async def issue(self, token: OneTimeToken, *, quota: IssueQuota | None = None) -> bool:
        """Store *token*, forgetting the user's earlier token of its purpose, within *quota*."""
        key = (token.user_id, token.purpose)
        window = IssueWindow(token_hash=token.token_hash, started_at=token.issued_at, issued=1)
        earlier = self._db.one_time_windows.get(key)
        if earlier is not None:
            previous = self._db.one_time_tokens[earlier.token_hash]
            within = quota is not None and earlier.started_at > token.issued_at - quota.window
            if quota is not None and (
                previous.issued_at > token.issued_at - quota.min_interval
                or (within and earlier.issued >= quota.per_window)
            ):
                return False
            if within:
                window = IssueWindow(
                    token_hash=token.token_hash,
                    started_at=earlier.started_at,
                    issued=earlier.issued + 1,
                )
            self._journal.pop(self._db.one_time_tokens, earlier.token_hash)
        self._journal.put(self._db.one_time_tokens, token.token_hash, token)
        self._journal.put(self._db.one_time_windows, key, window)
        return True

    async def find(self, token_hash: bytes, purpose: Purpose, now: datetime) -> OneTimeToken | None:
        """Return the live token of *purpose* stored under *token_hash*."""
        token = self._db.one_time_tokens.get(token_hash)
        if token is None or token.purpose != purpose or now >= token.expires_at:
            return None
        return token

    async def spend(
        self, token_hash: bytes, purpose: Purpose, now: datetime
    ) -> OneTimeToken | None:
        """Forget and return the live token of *purpose* stored under *token_hash*."""
        token = await self.find(token_hash, purpose, now)
        if token is not None:
            self._forget(token)
        return token

    async def void(self, user_id: UserId, purposes: Collection[Purpose] | None = None) -> int:
        """Forget the user's tokens of *purposes* (all of them by default)."""
        gone = [
            t
            for t in self._db.one_time_tokens.values()
            if t.user_id == user_id and (purposes is None or t.purpose in purposes)
        ]
        for token in gone:
            self._forget(token)
        return len(gone)

    async def purge(self, before: datetime) -> int:
        """Forget tokens that expired before *before*."""
        gone = [t for t in self._db.one_time_tokens.values() if t.expires_at < before]
        for token in gone:
            self._forget(token)
        return len(gone)

    def _forget(self, token: OneTimeToken) -> None:
        self._journal.pop(self._db.one_time_tokens, token.token_hash)
        self._journal.pop(self._db.one_time_windows, (token.user_id, token.purpose))
