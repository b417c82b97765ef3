"""The audit log as a unit of work reads and purges it (rows are written with the events)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from usermgmt.domain.audit import AuditEntry, AuditFilter, AuditPosition


class AuditLog(Protocol):
    """The append-only ``audit_events``.

    Rows are written by :meth:`EventOutbox.add <usermgmt.ports.events.EventOutbox.add>`,
    in the same scope as the event they come from; nothing changes a row once
    written, and only :meth:`purge` deletes.
    """

    async def page(
        self, matching: AuditFilter, after: AuditPosition | None, *, limit: int
    ) -> Sequence[AuditEntry]:
        """Return up to *limit* rows *matching*, newest first, after *after* (``None``: start).

        Newest first is by ``(at, id)`` descending; the rows come with their ids.
        """
        ...

    async def purge(self, before: datetime) -> int:
        """Delete the rows from before *before*; return how many.

        In a transaction, the deletion commits or rolls back with it.
        """
        ...
