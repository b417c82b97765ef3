"""Failed-login counters in PostgreSQL, shared by every instance.

Reserving an attempt is one statement that locks the attempt's counter rows
(``FOR UPDATE``, in key order, so that concurrent statements queue instead of
deadlocking), decides on the rows as they are once locked, and counts the
attempt under all of them or none. A row lock only exists on a row that does
exist: the first attempt on a counter therefore creates its rows with zero
failures and runs the statement again. Clearing resets rows to zero rather
than deleting them, so the next attempt needs one statement again; the purge
deletes rows idle for long.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from usermgmt.adapters.postgres.database import translate_errors
from usermgmt.domain.errors import UnavailableError
from usermgmt.domain.rules.throttle import FailureRecord, LoginAttempt, Reservation

# A counter is locked when it holds at least its threshold of failures (0: never), its
# last failure is not forgotten yet, and the lock for that many failures has not run out.
# The lock durations come from the domain's schedule, indexed by failures past the threshold.
_RESERVE: Final = """
    WITH wanted AS (
        SELECT w.key, w.threshold
        FROM unnest(%(keys)s::text[], %(thresholds)s::integer[]) AS w (key, threshold)
    ),
    found AS MATERIALIZED (
        SELECT f.key, f.failures, f.last_failure_at FROM login_failures AS f
        WHERE f.key = ANY(%(keys)s::text[])
        ORDER BY f.key
        FOR UPDATE
    ),
    verdict AS MATERIALIZED (
        SELECT count(f.key) = count(*) AS complete,
               coalesce(bool_or(
                   w.threshold > 0 AND f.failures >= w.threshold
                   AND f.last_failure_at >= %(stale_before)s
                   AND f.last_failure_at
                       + (%(locks)s::bigint[])[
                             least(f.failures - w.threshold + 1, cardinality(%(locks)s::bigint[]))
                         ] * interval '1 microsecond'
                       > %(now)s
               ), false) AS locked
        FROM wanted AS w LEFT JOIN found AS f ON f.key = w.key
    ),
    created AS (
        INSERT INTO login_failures (key, account, failures, last_failure_at)
        SELECT w.key, %(account)s, 0, %(now)s FROM wanted AS w, verdict WHERE NOT verdict.complete
        ON CONFLICT (key) DO NOTHING
    ),
    reserved AS (
        UPDATE login_failures AS f SET
            failures = CASE WHEN f.last_failure_at < %(stale_before)s THEN 1
                            ELSE f.failures + 1 END,
            previous_failure_at = f.last_failure_at,
            last_failure_at = %(now)s,
            account = %(account)s
        FROM verdict
        WHERE f.key = ANY(%(keys)s::text[]) AND verdict.complete AND NOT verdict.locked
        RETURNING f.key, f.failures, f.last_failure_at
    )
    SELECT v.complete, NOT v.locked AS admitted, w.key,
           coalesce(r.failures, f.failures) AS failures,
           coalesce(r.last_failure_at, f.last_failure_at) AS last_failure_at
    FROM verdict AS v
    CROSS JOIN wanted AS w
    LEFT JOIN found AS f ON f.key = w.key
    LEFT JOIN reserved AS r ON r.key = w.key
"""
# Restores the previous last failure only if no later reservation has moved it since.
_RELEASE: Final = """
    WITH locked AS MATERIALIZED (
        SELECT key FROM login_failures WHERE key = ANY(%(keys)s::text[]) ORDER BY key FOR UPDATE
    )
    UPDATE login_failures AS f SET
        failures = greatest(f.failures - 1, 0),
        last_failure_at = CASE
            WHEN f.last_failure_at = %(reserved_at)s AND f.previous_failure_at IS NOT NULL
            THEN f.previous_failure_at ELSE f.last_failure_at END,
        previous_failure_at = CASE
            WHEN f.last_failure_at = %(reserved_at)s THEN NULL ELSE f.previous_failure_at END
    FROM locked WHERE f.key = locked.key
"""
_CLEAR: Final = """
    WITH locked AS MATERIALIZED (
        SELECT key FROM login_failures WHERE key = ANY(%(keys)s::text[]) ORDER BY key FOR UPDATE
    )
    UPDATE login_failures AS f SET failures = 0, previous_failure_at = NULL
    FROM locked WHERE f.key = locked.key
"""
_CLEAR_ACCOUNT: Final = """
    WITH locked AS MATERIALIZED (
        SELECT key FROM login_failures WHERE account = %(account)s ORDER BY key FOR UPDATE
    )
    UPDATE login_failures AS f SET failures = 0, previous_failure_at = NULL
    FROM locked WHERE f.key = locked.key
"""
# Rows a login holds right now are skipped, never waited for: the purge never slows a login.
_PURGE: Final = """
    DELETE FROM login_failures WHERE key IN (
        SELECT key FROM login_failures WHERE last_failure_at < %(before)s
        ORDER BY key FOR UPDATE SKIP LOCKED
    )
"""

_ROUNDS: Final = 3
"""Statements a reservation may take: the first creates missing rows, the second finds them."""


def _micros(duration: timedelta) -> int:
    return duration // timedelta(microseconds=1)


class PostgresLoginAttemptStore:
    """The ``login_failures`` table; each call is one autocommitted statement."""

    def __init__(self, pool: AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]]) -> None:
        """Use connections from *pool*."""
        self._pool = pool

    async def reserve(self, attempt: LoginAttempt, now: datetime) -> Reservation:
        """Admit and count *attempt*, or refuse it, in one statement (see the port)."""
        keys = [c.key for c in attempt.counters]
        params = {
            "keys": keys,
            "thresholds": [c.threshold for c in attempt.counters],
            "account": attempt.account,
            "now": now,
            "stale_before": attempt.schedule.stale_before(now),
            "locks": [_micros(lock) for lock in attempt.schedule.locks],
        }
        async with translate_errors(), self._pool.connection() as conn:
            for _ in range(_ROUNDS):
                cur = await conn.execute(_RESERVE, params)
                rows = await cur.fetchall()
                complete, admitted = rows[0][0], rows[0][1]
                if complete:
                    found = {key: (failures, last) for _, _, key, failures, last in rows}
                    return Reservation(
                        admitted=admitted, records=tuple(_record(*found[key]) for key in keys)
                    )
        raise UnavailableError  # rows deleted under us round after round: nothing sane to say

    async def release(self, attempt: LoginAttempt, reserved_at: datetime) -> None:
        """Take back one reserved failure under each counter of *attempt*."""
        params = {"keys": [c.key for c in attempt.counters], "reserved_at": reserved_at}
        async with translate_errors(), self._pool.connection() as conn:
            await conn.execute(_RELEASE, params)

    async def clear(self, attempt: LoginAttempt) -> None:
        """Reset the counters of *attempt* to zero."""
        async with translate_errors(), self._pool.connection() as conn:
            await conn.execute(_CLEAR, {"keys": [c.key for c in attempt.counters]})

    async def clear_account(self, account: str) -> None:
        """Reset every counter of *account* to zero."""
        async with translate_errors(), self._pool.connection() as conn:
            await conn.execute(_CLEAR_ACCOUNT, {"account": account})

    async def purge(self, before: datetime) -> int:
        """Forget counters idle since before *before*."""
        async with translate_errors(), self._pool.connection() as conn:
            cur = await conn.execute(_PURGE, {"before": before})
            return cur.rowcount


def _record(failures: int, last_failure_at: datetime) -> FailureRecord | None:
    if failures == 0:
        return None
    return FailureRecord(failures=failures, last_failure_at=last_failure_at)
