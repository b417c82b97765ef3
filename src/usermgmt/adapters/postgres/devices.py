"""Device tokens in PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Final
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow, kwargs_row

from usermgmt.adapters.postgres.compose import DEVICE_TOKEN_COLUMNS, columns, statement, values
from usermgmt.domain.devices import DeviceToken
from usermgmt.domain.model import UserId

# One statement: the token presented at login is spent as its successor is stored.
_ADD: Final = statement(
    """
    WITH spent AS (
        DELETE FROM device_tokens WHERE token_hash = %(replacing)s
    )
    INSERT INTO device_tokens ({columns}) VALUES ({values})
    """,
    columns=columns(DEVICE_TOKEN_COLUMNS),
    values=values(DEVICE_TOKEN_COLUMNS),
)
_SELECT_LIVE: Final = statement(
    """
    SELECT {columns} FROM device_tokens
    WHERE token_hash = %(token_hash)s AND expires_at > %(now)s
    """,
    columns=columns(DEVICE_TOKEN_COLUMNS),
)
_REVOKE_ALL: Final = "DELETE FROM device_tokens WHERE user_id = %(user_id)s"
_PURGE: Final = "DELETE FROM device_tokens WHERE expires_at < %(before)s"


def _device_from_row(
    *, token_hash: bytes, user_id: UUID, issued_at: datetime, expires_at: datetime
) -> DeviceToken:
    return DeviceToken(
        token_hash=bytes(token_hash),
        user_id=UserId(user_id),
        issued_at=issued_at,
        expires_at=expires_at,
    )


class PostgresDeviceTokenStore:
    """The ``device_tokens`` table, on one connection."""

    def __init__(self, conn: psycopg.AsyncConnection[TupleRow]) -> None:
        """Run statements on *conn*."""
        self._conn = conn

    async def add(self, token: DeviceToken, *, replacing: bytes | None = None) -> None:
        """Store *token*, deleting *replacing* in the same statement."""
        params = {
            "replacing": replacing,
            "token_hash": token.token_hash,
            "user_id": token.user_id,
            "issued_at": token.issued_at,
            "expires_at": token.expires_at,
        }
        await self._conn.execute(_ADD, params)

    async def get(self, token_hash: bytes, now: datetime) -> DeviceToken | None:
        """Return the unexpired token stored under *token_hash*, or ``None``."""
        cur = self._conn.cursor(row_factory=kwargs_row(_device_from_row))
        await cur.execute(_SELECT_LIVE, {"token_hash": token_hash, "now": now})
        return await cur.fetchone()

    async def revoke_all(self, user_id: UserId) -> int:
        """Delete the user's tokens."""
        cur = await self._conn.execute(_REVOKE_ALL, {"user_id": user_id})
        return cur.rowcount

    async def purge(self, before: datetime) -> int:
        """Delete tokens that expired before *before*."""
        cur = await self._conn.execute(_PURGE, {"before": before})
        return cur.rowcount
