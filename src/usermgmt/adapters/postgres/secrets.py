"""The service's own random keys in PostgreSQL, shared by every instance."""

from __future__ import annotations

import secrets
from typing import Final

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from usermgmt.adapters.postgres.database import translate_errors

# One round trip: the first caller's candidate wins; everyone else reads the stored key.
# The outer SELECT cannot see the row this statement inserts, hence the CTE's RETURNING.
_GET_OR_CREATE: Final = """
    WITH created AS (
        INSERT INTO service_secrets (purpose, secret) VALUES (%(purpose)s, %(candidate)s)
        ON CONFLICT (purpose) DO NOTHING
        RETURNING secret
    )
    SELECT secret FROM created
    UNION ALL
    SELECT secret FROM service_secrets WHERE purpose = %(purpose)s
    LIMIT 1
"""
KEY_BYTES: Final = 32


class PostgresServiceSecrets:
    """The ``service_secrets`` table; each key is read once per process, then cached."""

    def __init__(self, pool: AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]]) -> None:
        """Use connections from *pool*."""
        self._pool = pool
        self._cache: dict[str, bytes] = {}

    async def secret(self, purpose: str) -> bytes:
        """Return the key for *purpose*, making it if no instance has yet."""
        found = self._cache.get(purpose)
        if found is None:
            params = {"purpose": purpose, "candidate": secrets.token_bytes(KEY_BYTES)}
            async with translate_errors(), self._pool.connection() as conn:
                cur = await conn.execute(_GET_OR_CREATE, params)
                row = await cur.fetchone()
            if row is None:  # nothing deletes these rows; only a hand-edited table gets here
                msg = f"service_secrets lost the key for {purpose!r} while it was being read"
                raise RuntimeError(msg)
            found = self._cache[purpose] = bytes(row[0])
        return found
