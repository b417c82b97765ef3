"""Serialized in-memory transactions and the repositories each one hands out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import attrs

from usermgmt.adapters.memory.audit import InMemoryAuditLog
from usermgmt.adapters.memory.ceremonies import InMemoryCeremonyStore
from usermgmt.adapters.memory.credentials import InMemoryCredentialStore
from usermgmt.adapters.memory.database import InMemoryDatabase
from usermgmt.adapters.memory.devices import InMemoryDeviceTokenStore
from usermgmt.adapters.memory.journal import Journal
from usermgmt.adapters.memory.onetime import InMemoryOneTimeTokenStore
from usermgmt.adapters.memory.outbox import InMemoryEventOutbox
from usermgmt.adapters.memory.sessions import InMemorySessionStore
from usermgmt.adapters.memory.users import InMemoryUserRepository


@attrs.frozen
class InMemoryRepositories:
    """The repositories of one in-memory unit of work."""

    users: InMemoryUserRepository
    credentials: InMemoryCredentialStore
    sessions: InMemorySessionStore
    devices: InMemoryDeviceTokenStore
    one_time_tokens: InMemoryOneTimeTokenStore
    ceremonies: InMemoryCeremonyStore
    outbox: InMemoryEventOutbox
    audit: InMemoryAuditLog


class InMemoryUnitOfWork:
    """Serialized transactions over an :class:`InMemoryDatabase`, undone on error."""

    def __init__(self, db: InMemoryDatabase | None = None) -> None:
        """Work on *db* (a new, empty one by default)."""
        self.db = db or InMemoryDatabase()

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[InMemoryRepositories]:
        """Run one transaction: its changes are undone if the block raises."""
        async with self.db.transaction_lock():
            journal = Journal()
            try:
                yield InMemoryRepositories(
                    InMemoryUserRepository(self.db, journal),
                    InMemoryCredentialStore(self.db, journal),
                    InMemorySessionStore(self.db, journal),
                    InMemoryDeviceTokenStore(self.db, journal),
                    InMemoryOneTimeTokenStore(self.db, journal),
                    InMemoryCeremonyStore(self.db, journal),
                    InMemoryEventOutbox(self.db.outbox, self.db.audit, journal),
                    InMemoryAuditLog(self.db.audit, journal),
                )
            except BaseException:
                journal.rollback()
                raise
            journal.commit()

    def standalone(self) -> AbstractAsyncContextManager[InMemoryRepositories]:
        """Open a scope; in memory it is simply a transaction, which is stricter."""
        return self()
