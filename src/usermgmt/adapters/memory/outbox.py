"""The in-memory outbox: the same contract as ``event_outbox`` in PostgreSQL.

Events join the outbox when their unit of work commits (the journal holds
them until then), so a rolled-back transaction takes its events with it and
no claim sees an event before its transaction is over. The dispatcher's
calls run without awaiting between check and write, so on the one event loop
that owns the outbox each claim is atomic and two dispatchers never lease
one event.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs

from usermgmt.domain.audit import audit_entries
from usermgmt.domain.events import Event, PendingEvent

if TYPE_CHECKING:
    from usermgmt.adapters.memory.audit import InMemoryAuditTable
    from usermgmt.adapters.memory.journal import Journal


@attrs.frozen(kw_only=True)
class StoredEvent:
    """One row of the in-memory outbox."""

    id: int
    event: Event
    available_at: datetime
    attempts: int = 0
    delivered_at: datetime | None = None
    failed_at: datetime | None = None
    last_error: str | None = None

    @property
    def pending(self) -> bool:
        """Neither delivered nor given up."""
        return self.delivered_at is None and self.failed_at is None


@attrs.define
class InMemoryOutbox:
    """The stored events by id, and the sequence that numbers them."""

    rows: dict[int, StoredEvent] = attrs.Factory(dict)
    ids: itertools.count[int] = attrs.Factory(lambda: itertools.count(1))
    """Like a PostgreSQL sequence: a rolled-back event's id is not reused."""


class InMemoryEventOutbox:
    """The outbox as one in-memory unit of work writes it."""

    def __init__(self, outbox: InMemoryOutbox, audit: InMemoryAuditTable, journal: Journal) -> None:
        """Add to *outbox* and *audit*, recording every change in *journal*."""
        self._outbox = outbox
        self._audit = audit
        self._journal = journal

    async def add(self, event: Event) -> None:
        """Store *event*, due at once, and its audit rows (see ``EventOutbox.add``)."""
        row = StoredEvent(id=next(self._outbox.ids), event=event, available_at=event.at)
        self._journal.on_commit(functools.partial(self._outbox.rows.__setitem__, row.id, row))
        self._audit.append(audit_entries(event), self._journal)


class InMemoryOutboxStore:
    """The dispatcher's side of an :class:`InMemoryOutbox` (see ``OutboxStore``)."""

    def __init__(self, outbox: InMemoryOutbox) -> None:
        """Work on *outbox*."""
        self._outbox = outbox

    async def claim(self, now: datetime, *, limit: int, lease: timedelta) -> Sequence[PendingEvent]:
        """Lease up to *limit* due events until *now* + *lease*, oldest first."""
        due = sorted(
            (r for r in self._outbox.rows.values() if r.pending and r.available_at <= now),
            key=lambda r: (r.available_at, r.id),
        )[:limit]
        claimed = []
        for row in due:
            leased = attrs.evolve(row, attempts=row.attempts + 1, available_at=now + lease)
            self._outbox.rows[row.id] = leased
            claimed.append(
                PendingEvent(
                    id=row.id,
                    type_name=row.event.type_name(),
                    event=row.event,
                    attempts=leased.attempts,
                )
            )
        return sorted(claimed, key=lambda pending: pending.id)

    async def delivered(self, event_id: int, now: datetime) -> None:
        """Mark the event delivered."""
        row = self._outbox.rows.get(event_id)
        if row is not None and row.delivered_at is None:
            self._outbox.rows[event_id] = attrs.evolve(row, delivered_at=now, last_error=None)

    async def retry(self, event_id: int, *, at: datetime, error: str) -> None:
        """Make the event due again at *at*."""
        row = self._outbox.rows.get(event_id)
        if row is not None and row.pending:
            self._outbox.rows[event_id] = attrs.evolve(row, available_at=at, last_error=error)

    async def give_up(self, event_id: int, now: datetime, *, error: str) -> None:
        """Mark the event failed for good."""
        row = self._outbox.rows.get(event_id)
        if row is not None and row.pending:
            self._outbox.rows[event_id] = attrs.evolve(row, failed_at=now, last_error=error)

    async def purge(self, before: datetime) -> int:
        """Forget events delivered before *before*."""
        gone = [
            i
            for i, r in self._outbox.rows.items()
            if r.delivered_at is not None and r.delivered_at < before
        ]
        for event_id in gone:
            del self._outbox.rows[event_id]
        return len(gone)

    async def pending(self, type_name: str) -> int:
        """Count the events of *type_name* still to deliver."""
        return sum(
            1 for r in self._outbox.rows.values() if r.pending and r.event.type_name() == type_name
        )
