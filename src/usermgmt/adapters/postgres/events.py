"""Domain events in PostgreSQL: stored as JSON rows of ``event_outbox``, read back equal."""

from __future__ import annotations

from typing import Final

import msgspec
import psycopg
from psycopg.rows import TupleRow

from usermgmt.domain.events import EVENT_TYPES, Event, PendingEvent

_ADD: Final = """
    INSERT INTO event_outbox (type, payload, created_at, available_at)
    VALUES (%(type)s, %(payload)s::jsonb, %(at)s, %(at)s)
"""


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

    def __init__(self, conn: psycopg.AsyncConnection[TupleRow]) -> None:
        """Run statements on *conn*."""
        self._conn = conn

    async def add(self, event: Event) -> None:
        """Insert *event*, due at once (see ``EventOutbox.add``)."""
        params = {"type": event.type_name(), "payload": encode_event(event), "at": event.at}
        await self._conn.execute(_ADD, params)
