"""The in-memory audit log: the same contract as ``audit_events`` in PostgreSQL.

Rows join the log when their unit of work commits (the journal holds them
until then), and a purge inside a transaction is undone by its rollback.
Nothing else changes a row.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from usermgmt.domain.audit import AuditEntry, AuditFilter, AuditPosition

if TYPE_CHECKING:
    from usermgmt.adapters.memory.journal import Journal


@attrs.define
class InMemoryAuditTable:
    """The stored rows by id, and the sequence that numbers them."""

    rows: dict[int, AuditEntry] = attrs.Factory(dict)
    ids: itertools.count[int] = attrs.Factory(lambda: itertools.count(1))

    def append(self, entries: Sequence[AuditEntry], journal: Journal) -> None:
        """Number *entries* now and store them when *journal*'s transaction commits."""
        for entry in entries:
            row = attrs.evolve(entry, id=next(self.ids))
            journal.on_commit(lambda row=row: self.rows.__setitem__(row.id, row))  # type: ignore[misc]


def _matches(entry: AuditEntry, matching: AuditFilter) -> bool:
    return (
        (matching.user_id is None or entry.user_id == matching.user_id)
        and (matching.type is None or entry.type == matching.type)
        and (matching.since is None or entry.at >= matching.since)
        and (matching.until is None or entry.at < matching.until)
    )


def _key(entry: AuditEntry) -> tuple[datetime, int]:
    return entry.at, entry.id or 0


class InMemoryAuditLog:
    """The audit log as one in-memory unit of work reads and purges it."""

    def __init__(self, table: InMemoryAuditTable, journal: Journal) -> None:
        """Work on *table*, recording every change in *journal*."""
        self._table = table
        self._journal = journal

    async def page(
        self, matching: AuditFilter, after: AuditPosition | None, *, limit: int
    ) -> Sequence[AuditEntry]:
        """Return up to *limit* matching rows after *after*, newest first."""
        rows = (
            r
            for r in self._table.rows.values()
            if _matches(r, matching) and (after is None or _key(r) < (after.at, after.id))
        )
        return sorted(rows, key=_key, reverse=True)[:limit]

    async def purge(self, before: datetime) -> int:
        """Delete the rows from before *before*."""
        gone = [i for i, r in self._table.rows.items() if r.at < before]
        for row_id in gone:
            self._journal.pop(self._table.rows, row_id)
        return len(gone)
