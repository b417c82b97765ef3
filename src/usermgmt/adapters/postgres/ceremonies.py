"""Passkey ceremonies in PostgreSQL: the ``webauthn_ceremonies`` table."""

from __future__ import annotations

from datetime import datetime
from typing import Final
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow, kwargs_row

from usermgmt.domain.model import UserId
from usermgmt.domain.passkeys import Ceremony, CeremonyId, CeremonyKind

_INSERT: Final = """
    INSERT INTO webauthn_ceremonies (id, kind, challenge, user_id, created_at, expires_at)
    VALUES (%(id)s, %(kind)s, %(challenge)s, %(user_id)s, %(created_at)s, %(expires_at)s)
"""
# Spending is one DELETE: of two at once, the second finds no row to delete.
_SPEND: Final = """
    DELETE FROM webauthn_ceremonies
    WHERE id = %(id)s AND kind = %(kind)s AND expires_at > %(now)s
    RETURNING id, kind, challenge, user_id, created_at, expires_at
"""
_PURGE: Final = "DELETE FROM webauthn_ceremonies WHERE expires_at < %(before)s"


def _ceremony_from_row(
    *,
    id: UUID,
    kind: str,
    challenge: bytes,
    user_id: UUID | None,
    created_at: datetime,
    expires_at: datetime,
) -> Ceremony:
    return Ceremony(
        id=CeremonyId(id),
        kind=CeremonyKind(kind),
        challenge=bytes(challenge),
        user_id=UserId(user_id) if user_id is not None else None,
        created_at=created_at,
        expires_at=expires_at,
    )


class PostgresCeremonyStore:
    """The ``webauthn_ceremonies`` table, on one connection."""

    def __init__(self, conn: psycopg.AsyncConnection[TupleRow]) -> None:
        """Run statements on *conn*."""
        self._conn = conn

    async def add(self, ceremony: Ceremony) -> None:
        """Insert a new ceremony."""
        params = {
            "id": ceremony.id,
            "kind": ceremony.kind.value,
            "challenge": ceremony.challenge,
            "user_id": ceremony.user_id,
            "created_at": ceremony.created_at,
            "expires_at": ceremony.expires_at,
        }
        await self._conn.execute(_INSERT, params)

    async def spend(
        self, ceremony_id: CeremonyId, kind: CeremonyKind, now: datetime
    ) -> Ceremony | None:
        """Delete and return the live ceremony, in one statement."""
        cur = self._conn.cursor(row_factory=kwargs_row(_ceremony_from_row))
        await cur.execute(_SPEND, {"id": ceremony_id, "kind": kind.value, "now": now})
        return await cur.fetchone()

    async def purge(self, before: datetime) -> int:
        """Delete ceremonies that expired before *before*."""
        cur = await self._conn.execute(_PURGE, {"before": before})
        return cur.rowcount
