"""Sessions and refresh tokens in PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Final
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow, kwargs_row

from usermgmt.adapters.postgres.compose import (
    REFRESH_TOKEN_COLUMNS,
    SESSION_COLUMNS,
    USER_COLUMNS,
    columns,
    statement,
    values,
)
from usermgmt.adapters.postgres.users import user_from_row
from usermgmt.domain.model import (
    RefreshToken,
    Session,
    SessionId,
    SpendOutcome,
    User,
    UserId,
)

# One statement, so that a login needs no transaction round trips.
_INSERT_SESSION: Final = statement(
    """
    WITH session AS (
        INSERT INTO sessions ({session_columns}) VALUES ({session_values})
        RETURNING id
    )
    INSERT INTO refresh_tokens ({token_columns})
    SELECT {token_values} FROM session
    """,
    session_columns=columns(SESSION_COLUMNS),
    session_values=values(SESSION_COLUMNS),
    token_columns=columns(REFRESH_TOKEN_COLUMNS),
    token_values=values(REFRESH_TOKEN_COLUMNS, session_id=sql.Identifier("id")),
)
# A refresh is the session's use: its new token and its last use are one statement.
_INSERT_TOKEN: Final = statement(
    """
    WITH token AS (INSERT INTO refresh_tokens ({columns}) VALUES ({values}))
    UPDATE sessions SET last_used_at = %(issued_at)s WHERE id = %(session_id)s
    """,
    columns=columns(REFRESH_TOKEN_COLUMNS),
    values=values(REFRESH_TOKEN_COLUMNS),
)
_SELECT_SESSION: Final = statement(
    "SELECT {columns} FROM sessions WHERE id = %(id)s", columns=columns(SESSION_COLUMNS)
)
# Row locks serialize concurrent spenders: the loser re-checks "spent_at IS NULL" and gets no row.
_SPEND: Final = statement(
    """
    UPDATE refresh_tokens SET spent_at = %(now)s
    WHERE token_hash = %(token_hash)s AND spent_at IS NULL
    RETURNING {columns}
    """,
    columns=columns(REFRESH_TOKEN_COLUMNS),
)
_SELECT_TOKEN: Final = statement(
    "SELECT {columns} FROM refresh_tokens WHERE token_hash = %(token_hash)s",
    columns=columns(REFRESH_TOKEN_COLUMNS),
)
_REVOKE: Final = """
    UPDATE sessions SET revoked_at = %(now)s
    WHERE id = %(id)s AND revoked_at IS NULL AND expires_at > %(now)s
"""
_REVOKE_OF_USER: Final = """
    UPDATE sessions SET revoked_at = %(now)s
    WHERE id = %(id)s AND user_id = %(user_id)s AND revoked_at IS NULL AND expires_at > %(now)s
"""
# Newest first straight from sessions_live_by_user_created_idx: no sort, however many rows.
_LIST_LIVE: Final = statement(
    """
    SELECT {columns} FROM sessions
    WHERE user_id = %(user_id)s AND revoked_at IS NULL AND expires_at > %(now)s
    ORDER BY created_at DESC, id DESC
    LIMIT %(limit)s
    """,
    columns=columns(SESSION_COLUMNS),
)
_REVOKE_ALL: Final = """
    UPDATE sessions SET revoked_at = %(now)s
    WHERE user_id = %(user_id)s AND revoked_at IS NULL AND expires_at > %(now)s
      AND id IS DISTINCT FROM %(keep)s
"""
# The whole cost of an authenticated request: one indexed join.
_LIVE_USER: Final = statement(
    """
    SELECT {columns}
    FROM sessions s JOIN users u ON u.id = s.user_id
    WHERE s.id = %(session_id)s AND s.user_id = %(user_id)s
      AND s.revoked_at IS NULL AND s.expires_at > %(now)s
      AND u.deleted_at IS NULL AND u.is_active
    """,
    columns=columns(USER_COLUMNS, of="u"),
)
_PURGE: Final = """
    DELETE FROM sessions WHERE expires_at < %(before)s OR revoked_at < %(before)s
"""


def _session_from_row(  # noqa: PLR0913 - one parameter per column
    *,
    id: UUID,
    user_id: UUID,
    created_at: datetime,
    expires_at: datetime,
    last_used_at: datetime,
    revoked_at: datetime | None,
    ip: str | None,
    user_agent: str | None,
    amr: list[str],
) -> Session:
    return Session(
        id=SessionId(id),
        user_id=UserId(user_id),
        created_at=created_at,
        expires_at=expires_at,
        last_used_at=last_used_at,
        revoked_at=revoked_at,
        ip=ip,
        user_agent=user_agent,
        amr=tuple(amr),
    )


def _token_from_row(
    *, token_hash: bytes, session_id: UUID, issued_at: datetime, spent_at: datetime | None
) -> RefreshToken:
    return RefreshToken(
        token_hash=bytes(token_hash),
        session_id=SessionId(session_id),
        issued_at=issued_at,
        spent_at=spent_at,
    )


def _token_params(token: RefreshToken) -> dict[str, object]:
    return {
        "token_hash": token.token_hash,
        "session_id": token.session_id,
        "issued_at": token.issued_at,
        "spent_at": token.spent_at,
    }


class PostgresSessionStore:
    """The ``sessions`` and ``refresh_tokens`` tables, on one connection."""

    def __init__(self, conn: psycopg.AsyncConnection[TupleRow]) -> None:
        """Run statements on *conn*."""
        self._conn = conn

    async def add(self, session: Session, token: RefreshToken) -> None:
        """Insert a session and its first refresh token in one statement."""
        params = {
            "id": session.id,
            "user_id": session.user_id,
            "created_at": session.created_at,
            "expires_at": session.expires_at,
            "last_used_at": session.last_used_at,
            "revoked_at": session.revoked_at,
            "ip": session.ip,
            "user_agent": session.user_agent,
            "amr": list(session.amr),
            **_token_params(token),
        }
        await self._conn.execute(_INSERT_SESSION, params)

    async def get(self, session_id: SessionId) -> Session | None:
        """Return the session, or ``None``."""
        cur = self._conn.cursor(row_factory=kwargs_row(_session_from_row))
        await cur.execute(_SELECT_SESSION, {"id": session_id})
        return await cur.fetchone()

    async def spend(self, token_hash: bytes, now: datetime) -> SpendOutcome | None:
        """Spend the token once (see ``SessionStore.spend``)."""
        cur = self._conn.cursor(row_factory=kwargs_row(_token_from_row))
        await cur.execute(_SPEND, {"token_hash": token_hash, "now": now})
        token = await cur.fetchone()
        if token is not None:
            return SpendOutcome(token=token, spent_now=True)
        await cur.execute(_SELECT_TOKEN, {"token_hash": token_hash})
        token = await cur.fetchone()
        return None if token is None else SpendOutcome(token=token, spent_now=False)

    async def add_token(self, token: RefreshToken) -> None:
        """Insert a further refresh token; its session was used when it was issued."""
        await self._conn.execute(_INSERT_TOKEN, _token_params(token))

    async def list_live(self, user_id: UserId, now: datetime, *, limit: int) -> list[Session]:
        """Return the user's live sessions, newest first, at most *limit*."""
        cur = self._conn.cursor(row_factory=kwargs_row(_session_from_row))
        await cur.execute(_LIST_LIVE, {"user_id": user_id, "now": now, "limit": limit})
        return await cur.fetchall()

    async def revoke(
        self, session_id: SessionId, now: datetime, *, user_id: UserId | None = None
    ) -> bool:
        """End one live session (of *user_id*, if given); return whether it was live."""
        if user_id is None:
            cur = await self._conn.execute(_REVOKE, {"id": session_id, "now": now})
        else:
            cur = await self._conn.execute(
                _REVOKE_OF_USER, {"id": session_id, "user_id": user_id, "now": now}
            )
        return cur.rowcount == 1

    async def revoke_all(
        self, user_id: UserId, now: datetime, *, keep: SessionId | None = None
    ) -> int:
        """End every live session of the user but *keep*."""
        cur = await self._conn.execute(_REVOKE_ALL, {"user_id": user_id, "now": now, "keep": keep})
        return cur.rowcount

    async def live_user(self, session_id: SessionId, user_id: UserId, now: datetime) -> User | None:
        """Return the user if the session and the user are live, in one round trip."""
        cur = self._conn.cursor(row_factory=kwargs_row(user_from_row))
        await cur.execute(_LIVE_USER, {"session_id": session_id, "user_id": user_id, "now": now})
        return await cur.fetchone()

    async def purge(self, before: datetime) -> int:
        """Delete sessions that ended before *before*; their tokens go with them."""
        cur = await self._conn.execute(_PURGE, {"before": before})
        return cur.rowcount
