"""Litestar's key-value ``Store`` in PostgreSQL: state shared by every instance.

The HTTP face keeps its per-client rate-limit windows here when no Redis is
configured, so that every worker and every instance on the same database
counts the same requests.

Keys are stored as their SHA-256 digests: a key of any length (or content)
fits the primary key's index, and the table never holds what a key was made of.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Final

import psycopg
from litestar.stores.base import Store
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from usermgmt.adapters.postgres.database import translate_errors

# Expiry is computed with the database's clock, the one clock every instance shares.
_SET: Final = """
    INSERT INTO key_value_store (namespace, key, value, expires_at)
    VALUES (%(namespace)s, %(key)s, %(value)s,
            now() + %(seconds)s::double precision * interval '1 second')
    ON CONFLICT (namespace, key) DO UPDATE
        SET value = excluded.value, expires_at = excluded.expires_at
"""
_GET: Final = """
    SELECT value FROM key_value_store
    WHERE namespace = %(namespace)s AND key = %(key)s
      AND (expires_at IS NULL OR expires_at > now())
"""
# Renewal touches only values that were given an expiry, as the Store contract says.
_GET_AND_RENEW: Final = """
    UPDATE key_value_store
    SET expires_at = CASE WHEN expires_at IS NULL THEN NULL
                          ELSE now() + %(seconds)s::double precision * interval '1 second' END
    WHERE namespace = %(namespace)s AND key = %(key)s
      AND (expires_at IS NULL OR expires_at > now())
    RETURNING value
"""
_DELETE: Final = "DELETE FROM key_value_store WHERE namespace = %(namespace)s AND key = %(key)s"
_DELETE_ALL: Final = "DELETE FROM key_value_store WHERE namespace = %(namespace)s"
_EXPIRES_IN: Final = """
    SELECT trunc(extract(epoch FROM expires_at - now()))::integer FROM key_value_store
    WHERE namespace = %(namespace)s AND key = %(key)s AND expires_at > now()
"""
_DELETE_EXPIRED: Final = "DELETE FROM key_value_store WHERE expires_at <= now()"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _seconds(duration: int | timedelta | None) -> float | None:
    if duration is None:
        return None
    if isinstance(duration, timedelta):
        return duration.total_seconds()
    return float(duration)


class PostgresStore(Store):
    """The ``key_value_store`` table, one namespace of it; each call is one statement."""

    __slots__ = ("_namespace", "_pool")

    def __init__(
        self,
        pool: AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]],
        *,
        namespace: str = "usermgmt",
    ) -> None:
        """Keep values under *namespace*, on connections from *pool*."""
        self._pool = pool
        self._namespace = namespace

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        """Store *value* under *key*, for *expires_in* seconds (``None``: without expiry)."""
        data = value.encode("utf-8") if isinstance(value, str) else value
        params = {
            "namespace": self._namespace,
            "key": _digest(key),
            "value": data,
            "seconds": _seconds(expires_in),
        }
        async with translate_errors(), self._pool.connection() as conn:
            await conn.execute(_SET, params)

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        """Return the live value under *key*, renewing its expiry by *renew_for* if given."""
        params = {"namespace": self._namespace, "key": _digest(key), "seconds": _seconds(renew_for)}
        query = _GET if renew_for is None else _GET_AND_RENEW
        async with translate_errors(), self._pool.connection() as conn:
            cur = await conn.execute(query, params)
            row = await cur.fetchone()
        return None if row is None else bytes(row[0])

    async def delete(self, key: str) -> None:
        """Forget *key*; nothing happens if it is unknown."""
        async with translate_errors(), self._pool.connection() as conn:
            await conn.execute(_DELETE, {"namespace": self._namespace, "key": _digest(key)})

    async def delete_all(self) -> None:
        """Forget every key of this namespace."""
        async with translate_errors(), self._pool.connection() as conn:
            await conn.execute(_DELETE_ALL, {"namespace": self._namespace})

    async def exists(self, key: str) -> bool:
        """Return whether *key* holds a live value."""
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        """Return the whole seconds until *key* expires (``None``: unknown, or no expiry)."""
        params = {"namespace": self._namespace, "key": _digest(key)}
        async with translate_errors(), self._pool.connection() as conn:
            cur = await conn.execute(_EXPIRES_IN, params)
            row = await cur.fetchone()
        return None if row is None else int(row[0])

    async def delete_expired(self) -> int:
        """Delete every expired value, in every namespace; return how many."""
        async with translate_errors(), self._pool.connection() as conn:
            cur = await conn.execute(_DELETE_EXPIRED)
            return cur.rowcount
