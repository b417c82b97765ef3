"""The dispatcher's side of ``event_outbox``: lease due rows, settle them.

A claim is one statement: it picks due rows oldest first with ``FOR UPDATE
SKIP LOCKED`` (rows another instance is claiming at that moment are passed
over, not waited for) and moves their ``available_at`` to the end of the
lease, so no later claim sees them due until the lease runs out. Each call
runs on its own pooled connection in autocommit: nothing stays locked while
subscribers work.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

import psycopg
from psycopg.rows import TupleRow, kwargs_row
from psycopg_pool import AsyncConnectionPool

from usermgmt.adapters.postgres.database import translate_errors
from usermgmt.adapters.postgres.events import decode_event
from usermgmt.domain.events import PendingEvent

_CLAIM: Final = """
    WITH due AS (
        SELECT id FROM event_outbox
        WHERE delivered_at IS NULL AND failed_at IS NULL AND available_at <= %(now)s
        ORDER BY available_at, id
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    )
    UPDATE event_outbox AS o
    SET attempts = o.attempts + 1, available_at = %(lease_until)s
    FROM due WHERE o.id = due.id
    RETURNING o.id, o.type, o.payload::text AS payload, o.attempts
"""
_DELIVERED: Final = """
    UPDATE event_outbox SET delivered_at = %(now)s, last_error = NULL
    WHERE id = %(id)s AND delivered_at IS NULL
"""
_RETRY: Final = """
    UPDATE event_outbox SET available_at = %(at)s, last_error = %(error)s
    WHERE id = %(id)s AND delivered_at IS NULL AND failed_at IS NULL
"""
_GIVE_UP: Final = """
    UPDATE event_outbox SET failed_at = %(now)s, last_error = %(error)s
    WHERE id = %(id)s AND delivered_at IS NULL AND failed_at IS NULL
"""
_PURGE: Final = "DELETE FROM event_outbox WHERE delivered_at < %(before)s"
# Pending rows only: the due index holds exactly those, so the count never reads settled rows.
_PENDING: Final = """
    SELECT count(*) FROM event_outbox
    WHERE delivered_at IS NULL AND failed_at IS NULL AND type = %(type)s
"""


class PostgresOutboxStore:
    """``event_outbox`` for the dispatchers of every instance (see ``OutboxStore``)."""

    def __init__(self, pool: AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]]) -> None:
        """Borrow connections from *pool*."""
        self._pool = pool

    async def claim(self, now: datetime, *, limit: int, lease: timedelta) -> Sequence[PendingEvent]:
        """Lease up to *limit* due events until *now* + *lease*, oldest first."""
        params = {"now": now, "limit": limit, "lease_until": now + lease}
        async with translate_errors(), self._pool.connection() as conn:
            cur = conn.cursor(row_factory=kwargs_row(decode_event))
            await cur.execute(_CLAIM, params)
            claimed = await cur.fetchall()
        return sorted(claimed, key=lambda pending: pending.id)  # RETURNING keeps no order

    async def delivered(self, event_id: int, now: datetime) -> None:
        """Mark the event delivered."""
        await self._run(_DELIVERED, {"id": event_id, "now": now})

    async def retry(self, event_id: int, *, at: datetime, error: str) -> None:
        """Make the event due again at *at*."""
        await self._run(_RETRY, {"id": event_id, "at": at, "error": error})

    async def give_up(self, event_id: int, now: datetime, *, error: str) -> None:
        """Mark the event failed for good."""
        await self._run(_GIVE_UP, {"id": event_id, "now": now, "error": error})

    async def purge(self, before: datetime) -> int:
        """Delete events delivered before *before*."""
        return await self._run(_PURGE, {"before": before})

    async def pending(self, type_name: str) -> int:
        """Count the events of *type_name* still to deliver."""
        async with translate_errors(), self._pool.connection() as conn:
            cur = await conn.execute(_PENDING, {"type": type_name})
            row = await cur.fetchone()
        return 0 if row is None else int(row[0])

    async def _run(self, query: str, params: dict[str, object]) -> int:
        async with translate_errors(), self._pool.connection() as conn:
            cur = await conn.execute(query, params)
            return cur.rowcount
