"""The transactional outbox: events recorded with a change, claimed later for delivery."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from usermgmt.domain.events import Event, PendingEvent


class EventOutbox(Protocol):
    """The outbox as one unit of work sees it: events to store with its changes."""

    async def add(self, event: Event) -> None:
        """Store *event*, due for delivery at once, with the audit rows it makes.

        The rows are :func:`usermgmt.domain.audit.audit_entries` of *event*.
        Inside a transaction the event and its rows are stored if and only if
        the transaction commits; in a standalone scope they are stored at
        once, on their own, and an adapter may answer before they are on disk
        (PostgreSQL does not wait for the WAL flush): the failure path, which
        changes nothing else, then costs the caller one statement and no
        disk wait.
        """
        ...


class OutboxStore(Protocol):
    """The outbox as the dispatcher sees it, shared by every instance.

    Each method is one atomic step. A claimed event is leased: no other claim
    returns it until the lease ends, so several dispatchers deliver each event
    once; an event whose dispatcher died mid-delivery is claimed again when
    its lease runs out.
    """

    async def claim(self, now: datetime, *, limit: int, lease: timedelta) -> Sequence[PendingEvent]:
        """Lease up to *limit* due events until *now* + *lease*, oldest first.

        An event is due when it is neither delivered nor given up and its next
        attempt time has come. Each claim counts one more attempt. Events
        claimed concurrently elsewhere are skipped, not waited for.
        """
        ...

    async def delivered(self, event_id: int, now: datetime) -> None:
        """Record that event *event_id* reached every subscriber at *now*."""
        ...

    async def retry(self, event_id: int, *, at: datetime, error: str) -> None:
        """Make event *event_id* due again at *at*, keeping *error* as its last one."""
        ...

    async def give_up(self, event_id: int, now: datetime, *, error: str) -> None:
        """Mark event *event_id* failed at *now* with *error*: it is never claimed again."""
        ...

    async def purge(self, before: datetime) -> int:
        """Delete events delivered before *before*; return how many.

        Failed events stay for an operator to inspect.
        """
        ...

    async def pending(self, type_name: str) -> int:
        """Return how many events of type *type_name* are neither delivered nor given up."""
        ...
