"""The audit log in PostgreSQL: ``audit_events``, append-only by a trigger.

Rows are inserted by :class:`~usermgmt.adapters.postgres.events.PostgresEventOutbox`
in the statement that stores their event (see :data:`INSERT_ENTRIES`); this
module reads pages of them and runs the one delete the trigger allows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow, kwargs_row

from usermgmt.domain.audit import AuditEntry, AuditFilter, AuditOutcome, AuditPosition
from usermgmt.domain.events import RequestContext
from usermgmt.domain.model import SessionId, UserId

AUDIT_COLUMNS: Final = (
    "at",
    "type",
    "outcome",
    "actor_id",
    "user_id",
    "session_id",
    "ip",
    "user_agent",
    "request_id",
    "details",
)
"""What an ``audit_events`` row is written as (its ``id`` is the table's)."""

_RECORD_TYPES: Final = (
    "at timestamptz, type text, outcome text, actor_id uuid, user_id uuid, session_id uuid,"
    " ip text, user_agent text, request_id text, details jsonb"
)

INSERT_ENTRIES: Final = sql.SQL(
    """
    INSERT INTO audit_events ({columns})
    SELECT {columns}
    FROM ROWS FROM (jsonb_to_recordset(%(audit)s::jsonb) AS ({types}))
        WITH ORDINALITY AS a({columns}, ord)
    ORDER BY ord
    """
).format(
    columns=sql.SQL(", ").join(map(sql.Identifier, AUDIT_COLUMNS)),
    types=sql.SQL(_RECORD_TYPES),
)
"""Insert the rows that :func:`encode_entries` wrote as one JSON array, in its order."""

_SELECT: Final = sql.SQL("SELECT id, {columns} FROM audit_events").format(
    columns=sql.SQL(", ").join(map(sql.Identifier, AUDIT_COLUMNS))
)
_ORDER: Final = sql.SQL(" ORDER BY at DESC, id DESC LIMIT %(limit)s")
_DELETE: Final = "DELETE FROM audit_events WHERE at < %(before)s"


def encode_entries(entries: Sequence[AuditEntry]) -> str:
    """Return *entries* as the JSON array :data:`INSERT_ENTRIES` reads."""
    return json.dumps(
        [
            {
                "at": entry.at.isoformat(),
                "type": entry.type,
                "outcome": str(entry.outcome),
                "actor_id": _text(entry.actor_id),
                "user_id": _text(entry.user_id),
                "session_id": _text(entry.session_id),
                "ip": entry.context.ip or None,
                "user_agent": entry.context.user_agent or None,
                "request_id": entry.context.request_id or None,
                "details": dict(entry.details),
            }
            for entry in entries
        ]
    )


def _text(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def entry_from_row(  # noqa: PLR0913 - one parameter per column
    *,
    id: int,
    at: datetime,
    type: str,  # noqa: A002 - the column's name
    outcome: str,
    actor_id: UUID | None,
    user_id: UUID | None,
    session_id: UUID | None,
    ip: str | None,
    user_agent: str | None,
    request_id: str | None,
    details: dict[str, Any],
) -> AuditEntry:
    """Turn a row of ``audit_events`` into an :class:`AuditEntry`."""
    return AuditEntry(
        id=id,
        at=at,
        type=type,
        outcome=AuditOutcome(outcome),
        actor_id=None if actor_id is None else UserId(actor_id),
        user_id=None if user_id is None else UserId(user_id),
        session_id=None if session_id is None else SessionId(session_id),
        context=RequestContext(
            ip=ip or "", user_agent=user_agent or "", request_id=request_id or ""
        ),
        details=details,
    )


def _page_query(matching: AuditFilter, after: AuditPosition | None) -> sql.Composed:
    """Compose the conditions that apply, so each filter meets the index that serves it."""
    conditions = [
        sql.SQL(condition)
        for condition, present in (
            ("user_id = %(user_id)s", matching.user_id is not None),
            ("type = %(type)s", matching.type is not None),
            ("at >= %(since)s", matching.since is not None),
            ("at < %(until)s", matching.until is not None),
            ("(at, id) < (%(after_at)s, %(after_id)s)", after is not None),
        )
        if present
    ]
    where = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")
    return _SELECT + where + _ORDER


class PostgresAuditLog:
    """``audit_events`` as one unit of work reads and purges it, on that unit's connection."""

    def __init__(self, conn: psycopg.AsyncConnection[TupleRow]) -> None:
        """Run statements on *conn*."""
        self._conn = conn

    async def page(
        self, matching: AuditFilter, after: AuditPosition | None, *, limit: int
    ) -> Sequence[AuditEntry]:
        """Return up to *limit* matching rows after *after*, newest first."""
        params = {
            "user_id": matching.user_id,
            "type": matching.type,
            "since": matching.since,
            "until": matching.until,
            "after_at": after.at if after else None,
            "after_id": after.id if after else None,
            "limit": limit,
        }
        cur = self._conn.cursor(row_factory=kwargs_row(entry_from_row))
        await cur.execute(_page_query(matching, after), params)
        return await cur.fetchall()

    async def purge(self, before: datetime) -> int:
        """Delete the rows from before *before*, the one delete the trigger lets through.

        The flag the trigger reads is transaction-local, and is turned off
        again at once: nothing else in the transaction may delete a row.
        """
        async with self._conn.transaction():
            await self._conn.execute("SET LOCAL usermgmt.audit_purge = 'on'")
            cur = await self._conn.execute(_DELETE, {"before": before})
            await self._conn.execute("SET LOCAL usermgmt.audit_purge = 'off'")
            return cur.rowcount
