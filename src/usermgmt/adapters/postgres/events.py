"""Domain events in PostgreSQL: stored as JSON rows of ``event_outbox``, read back equal.

In a transaction an event is one more INSERT, committed (and flushed to
disk) with the change. On its own (a failed login, which changes nothing)
it is one INSERT whose commit does not wait for the disk: the statement
sets ``synchronous_commit`` off for its own implicit transaction, so the
answer is not held up by a WAL flush (about 4 ms on a plain disk, against
0.2 ms for the statement). A crash of the database server in the next
fraction of a second (at most three ``wal_writer_delay``s, 600 ms by
default) can lose such a row; a committed change never loses its events.

The audit rows an event makes (:func:`usermgmt.domain.audit.audit_entries`)
are inserted by the same statement, so they share its transaction and cost
no further round trip.
"""

from __future__ import annotations

from typing import Final

import msgspec
import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from usermgmt.adapters.postgres.audit import INSERT_ENTRIES, encode_entries
from usermgmt.domain.audit import audit_entries
from usermgmt.domain.events import EVENT_TYPES, Event, PendingEvent

_ADD: Final = """
    INSERT INTO event_outbox (type, payload, created_at, available_at)
    VALUES (%(type)s, %(payload)s::jsonb, %(at)s, %(at)s)
"""
_ADD_ALONE: Final = """
    INSERT INTO event_outbox (type, payload, created_at, available_at)
    SELECT %(type)s, %(payload)s::jsonb, %(at)s, %(at)s
    FROM (SELECT set_config('synchronous_commit', 'off', true)) AS asynchronous_commit
"""
_ADD_AUDITED: Final = (sql.SQL("WITH event AS (" + _ADD + ")") + INSERT_ENTRIES).as_bytes()
_ADD_ALONE_AUDITED: Final = (
    sql.SQL("WITH event AS (" + _ADD_ALONE + ")") + INSERT_ENTRIES
).as_bytes()


def encode_event(event: Event) -> str:
    """Return *event* as the JSON text stored in ``payload``."""
    return msgspec.json.encode(event).decode("utf-8")


def decode_event(*, id: int, type: str, payload: str, attempts: int) -> PendingEvent:  # noqa: A002 - column names
    """Turn a claimed row into a :class:`PendingEvent` (``event`` ``None`` for an unknown type)."""
    cls = EVENT_TYPES.get(type)
    event = msgspec.json.decode(payload, type=cls) if cls is not None else None
    return PendingEvent(id=id, type_name=type, event=event, attempts=attempts)


class PostgresEventOutbox:
    """``event_outbox`` as one unit of work writes it, on that unit's connection."""

    def __init__(self, conn: psycopg.AsyncConnection[TupleRow], *, alone: bool = False) -> None:
        """Run statements on *conn*; *alone*: outside a transaction (a standalone scope)."""
        self._conn = conn
        self._query = _ADD_ALONE if alone else _ADD
        self._audited = _ADD_ALONE_AUDITED if alone else _ADD_AUDITED

    async def add(self, event: Event) -> None:
        """Insert *event*, due at once, and its audit rows (see ``EventOutbox.add``)."""
        params = {"type": event.type_name(), "payload": encode_event(event), "at": event.at}
        entries = audit_entries(event)
        if not entries:
            await self._conn.execute(self._query, params)
            return
        await self._conn.execute(self._audited, {**params, "audit": encode_entries(entries)})
