"""Passkey ceremonies in memory."""

from __future__ import annotations

from datetime import datetime

from usermgmt.adapters.memory.database import InMemoryDatabase
from usermgmt.adapters.memory.journal import Journal
from usermgmt.domain.passkeys import Ceremony, CeremonyId, CeremonyKind


class InMemoryCeremonyStore:
    """Ceremonies in a dict by id; transactions are serialized, so a spend is atomic."""

    def __init__(self, db: InMemoryDatabase, journal: Journal) -> None:
        """Work on *db*, recording every change in *journal*."""
        self._db = db
        self._journal = journal

    async def add(self, ceremony: Ceremony) -> None:
        """Store a new ceremony."""
        self._journal.put(self._db.ceremonies, ceremony.id, ceremony)

    async def spend(
        self, ceremony_id: CeremonyId, kind: CeremonyKind, now: datetime
    ) -> Ceremony | None:
        """Forget and return the live ceremony *ceremony_id* of *kind*."""
        ceremony = self._db.ceremonies.get(ceremony_id)
        if ceremony is None or ceremony.kind != kind or now >= ceremony.expires_at:
            return None
        self._journal.pop(self._db.ceremonies, ceremony_id)
        return ceremony

    async def purge(self, before: datetime) -> int:
        """Forget ceremonies that expired before *before*."""
        gone = [c.id for c in self._db.ceremonies.values() if c.expires_at < before]
        for ceremony_id in gone:
            self._journal.pop(self._db.ceremonies, ceremony_id)
        return len(gone)
