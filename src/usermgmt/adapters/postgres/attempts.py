"""Failed-login counters in PostgreSQL, shared by every instance."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import psycopg
from psycopg.rows import TupleRow, kwargs_row
from psycopg_pool import AsyncConnectionPool

from usermgmt.adapters.postgres.database import translate_errors
from usermgmt.domain.policy import FailureRecord, ThrottleKeys

_SELECT: Final = """
    SELECT key, failures, last_failure_at FROM login_failures WHERE key = ANY(%(keys)s)
"""
# The pair key comes first in every call, the shared account key second: a fixed lock order.
_RECORD: Final = """
    INSERT INTO login_failures AS f (key, failures, last_failure_at)
    SELECT key, 1, %(now)s FROM unnest(%(keys)s::text[]) AS key
    ON CONFLICT (key) DO UPDATE SET
        failures = CASE WHEN f.last_failure_at < %(stale_before)s THEN 1 ELSE f.failures + 1 END,
        last_failure_at = excluded.last_failure_at
"""
_CLEAR: Final = "DELETE FROM login_failures WHERE key = ANY(%(keys)s)"
_PURGE: Final = "DELETE FROM login_failures WHERE last_failure_at < %(before)s"


def _keyed_record(
    *, key: str, failures: int, last_failure_at: datetime
) -> tuple[str, FailureRecord]:
    return key, FailureRecord(failures=failures, last_failure_at=last_failure_at)


class PostgresLoginAttemptStore:
    """The ``login_failures`` table; each call is one autocommitted statement."""

    def __init__(self, pool: AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]]) -> None:
        """Use connections from *pool*."""
        self._pool = pool

    async def get(self, keys: ThrottleKeys) -> tuple[FailureRecord | None, FailureRecord | None]:
        """Return the pair and account records."""
        async with translate_errors(), self._pool.connection() as conn:
            cur = conn.cursor(row_factory=kwargs_row(_keyed_record))
            await cur.execute(_SELECT, {"keys": [keys.pair, keys.account]})
            found = dict(await cur.fetchall())
        return found.get(keys.pair), found.get(keys.account)

    async def record_failure(
        self, keys: ThrottleKeys, now: datetime, *, stale_before: datetime
    ) -> None:
        """Count one more failure under both keys, atomically."""
        params = {"keys": [keys.pair, keys.account], "now": now, "stale_before": stale_before}
        async with translate_errors(), self._pool.connection() as conn:
            await conn.execute(_RECORD, params)

    async def clear(self, keys: ThrottleKeys) -> None:
        """Forget both counters."""
        async with translate_errors(), self._pool.connection() as conn:
            await conn.execute(_CLEAR, {"keys": [keys.pair, keys.account]})

    async def purge(self, before: datetime) -> int:
        """Forget counters idle since before *before*."""
        async with translate_errors(), self._pool.connection() as conn:
            cur = await conn.execute(_PURGE, {"before": before})
            return cur.rowcount
