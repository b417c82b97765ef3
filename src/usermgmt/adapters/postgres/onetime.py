"""One-time tokens in PostgreSQL."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow, kwargs_row
from psycopg.types.json import Jsonb

from usermgmt.adapters.postgres.compose import (
    ONE_TIME_TOKEN_COLUMNS,
    columns,
    statement,
    values,
)
from usermgmt.domain.model import UserId
from usermgmt.domain.onetime import IssueQuota, OneTimeToken, Purpose

# One statement: the user's earlier token of the purpose (one at most, by the unique
# index) is replaced, so a newer token voids the older with no window between the two.
# The quota is checked on the row being replaced, which the statement holds locked:
# of two issues at once, the second sees the first's count.
_ISSUE: Final = statement(
    """
    INSERT INTO one_time_tokens AS t ({columns}, window_started_at, issued_in_window)
    VALUES ({values}, %(issued_at)s, 1)
    ON CONFLICT (user_id, purpose) DO UPDATE SET
        token_hash = excluded.token_hash,
        data = excluded.data,
        issued_at = excluded.issued_at,
        expires_at = excluded.expires_at,
        window_started_at = CASE WHEN t.window_started_at > %(window_start)s
                                 THEN t.window_started_at ELSE excluded.issued_at END,
        issued_in_window = CASE WHEN t.window_started_at > %(window_start)s
                                THEN t.issued_in_window + 1 ELSE 1 END
    WHERE t.issued_at <= %(last_allowed)s
      AND (t.window_started_at <= %(window_start)s OR t.issued_in_window < %(per_window)s)
    RETURNING 1
    """,
    columns=columns(ONE_TIME_TOKEN_COLUMNS),
    values=values(ONE_TIME_TOKEN_COLUMNS),
)
_FIND: Final = statement(
    """
    SELECT {columns} FROM one_time_tokens
    WHERE token_hash = %(token_hash)s AND purpose = %(purpose)s AND expires_at > %(now)s
    """,
    columns=columns(ONE_TIME_TOKEN_COLUMNS),
)
_NO_QUOTA: Final = IssueQuota(min_interval=timedelta(0), per_window=2**31 - 1)
# Spending is one DELETE: of two at once, the second finds no row to delete.
_SPEND: Final = statement(
    """
    DELETE FROM one_time_tokens
    WHERE token_hash = %(token_hash)s AND purpose = %(purpose)s AND expires_at > %(now)s
    RETURNING {columns}
    """,
    columns=columns(ONE_TIME_TOKEN_COLUMNS),
)
_VOID: Final = "DELETE FROM one_time_tokens WHERE user_id = %(user_id)s"
_VOID_PURPOSES: Final = (
    "DELETE FROM one_time_tokens WHERE user_id = %(user_id)s AND purpose = ANY(%(purposes)s)"
)
_PURGE: Final = "DELETE FROM one_time_tokens WHERE expires_at < %(before)s"


def _token_from_row(
    *,
    token_hash: bytes,
    user_id: UUID,
    purpose: str,
    data: Mapping[str, str],
    issued_at: datetime,
    expires_at: datetime,
) -> OneTimeToken:
    return OneTimeToken(
        token_hash=bytes(token_hash),
        user_id=UserId(user_id),
        purpose=Purpose(purpose),
        issued_at=issued_at,
        expires_at=expires_at,
        data=dict(data),
    )


class PostgresOneTimeTokenStore:
    """The ``one_time_tokens`` table, on one connection."""

    def __init__(self, conn: psycopg.AsyncConnection[TupleRow]) -> None:
        """Run statements on *conn*."""
        self._conn = conn

    async def issue(self, token: OneTimeToken, *, quota: IssueQuota | None = None) -> bool:
        """Store *token* in place of the user's earlier token of its purpose, within *quota*."""
        limit = quota or _NO_QUOTA
        params = {
            "last_allowed": token.issued_at - limit.min_interval,
            "window_start": token.issued_at - limit.window,
            "per_window": limit.per_window,
            "token_hash": token.token_hash,
            "user_id": token.user_id,
            "purpose": token.purpose.value,
            "data": Jsonb(dict(token.data)),
            "issued_at": token.issued_at,
            "expires_at": token.expires_at,
        }
        cur = await self._conn.execute(_ISSUE, params)
        return cur.rowcount == 1

    async def find(self, token_hash: bytes, purpose: Purpose, now: datetime) -> OneTimeToken | None:
        """Return the live token of *purpose* stored under *token_hash*."""
        cur = self._conn.cursor(row_factory=kwargs_row(_token_from_row))
        await cur.execute(_FIND, {"token_hash": token_hash, "purpose": purpose.value, "now": now})
        return await cur.fetchone()

    async def spend(
        self, token_hash: bytes, purpose: Purpose, now: datetime
    ) -> OneTimeToken | None:
        """Delete the live token of *purpose* stored under *token_hash*, and return it."""
        cur = self._conn.cursor(row_factory=kwargs_row(_token_from_row))
        params = {"token_hash": token_hash, "purpose": purpose.value, "now": now}
        await cur.execute(_SPEND, params)
        return await cur.fetchone()

    async def void(self, user_id: UserId, purposes: Collection[Purpose] | None = None) -> int:
        """Delete the user's tokens of *purposes* (all of them by default)."""
        if purposes is None:
            cur = await self._conn.execute(_VOID, {"user_id": user_id})
        else:
            params = {"user_id": user_id, "purposes": [p.value for p in purposes]}
            cur = await self._conn.execute(_VOID_PURPOSES, params)
        return cur.rowcount

    async def purge(self, before: datetime) -> int:
        """Delete tokens that expired before *before*."""
        cur = await self._conn.execute(_PURGE, {"before": before})
        return cur.rowcount
