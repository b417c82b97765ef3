"""Device tokens in memory."""

from __future__ import annotations

from datetime import datetime

from usermgmt.adapters.memory.database import InMemoryDatabase
from usermgmt.adapters.memory.journal import Journal
from usermgmt.domain.devices import DeviceToken
from usermgmt.domain.model import UserId


class InMemoryDeviceTokenStore:
    """Device tokens in a dict keyed by their digest."""

    def __init__(self, db: InMemoryDatabase, journal: Journal) -> None:
        """Work on *db*, recording every change in *journal*."""
        self._db = db
        self._journal = journal

    async def add(self, token: DeviceToken, *, replacing: bytes | None = None) -> None:
        """Store *token*, forgetting *replacing*."""
        if replacing is not None:
            self._journal.pop(self._db.devices, replacing)
        self._journal.put(self._db.devices, token.token_hash, token)

    async def get(self, token_hash: bytes, now: datetime) -> DeviceToken | None:
        """Return the token if it is stored and unexpired."""
        token = self._db.devices.get(token_hash)
        return token if token is not None and now < token.expires_at else None

    async def revoke_all(self, user_id: UserId) -> int:
        """Forget the user's tokens."""
        gone = [h for h, t in self._db.devices.items() if t.user_id == user_id]
        for token_hash in gone:
            self._journal.pop(self._db.devices, token_hash)
        return len(gone)

    async def purge(self, before: datetime) -> int:
        """Forget tokens that expired before *before*."""
        gone = [h for h, t in self._db.devices.items() if t.expires_at < before]
        for token_hash in gone:
            self._journal.pop(self._db.devices, token_hash)
        return len(gone)
