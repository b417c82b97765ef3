"""Users in PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow, kwargs_row

from usermgmt.adapters.postgres.compose import (
    USER_COLUMNS,
    USER_UPDATED,
    USER_WRITTEN,
    assignments,
    columns,
    statement,
    values,
)
from usermgmt.domain.errors import EmailTakenError
from usermgmt.domain.model import Email, Role, User, UserId
from usermgmt.domain.rules.listing import ListPosition

_USER: Final = columns(USER_COLUMNS)
_INSERT: Final = statement(
    "INSERT INTO users ({columns}) VALUES ({values})",
    columns=columns(USER_WRITTEN),
    values=values(USER_WRITTEN),
)
_UPDATE: Final = statement(
    "UPDATE users SET {assignments} WHERE id = %(id)s", assignments=assignments(USER_UPDATED)
)
_BY_ID: Final = """
    SELECT {columns}
    FROM users WHERE id = %(id)s AND (deleted_at IS NULL OR %(include_deleted)s)
"""
_SELECT_BY_ID: Final = statement(_BY_ID, columns=_USER)
_SELECT_BY_ID_FOR_UPDATE: Final = statement(_BY_ID + "FOR UPDATE", columns=_USER)
_SELECT_BY_EMAIL: Final = statement(
    "SELECT {columns} FROM users WHERE email_key = %(email_key)s AND deleted_at IS NULL",
    columns=_USER,
)
_SELECT_DELETED_BY_EMAIL: Final = statement(
    """
    SELECT {columns} FROM users WHERE email_key = %(email_key)s AND deleted_at IS NOT NULL
    ORDER BY deleted_at DESC LIMIT 1
    """,
    columns=_USER,
)
_COUNT_ACTIVE_ADMINS: Final = """
    SELECT count(*) FROM users WHERE role = 'admin' AND is_active AND deleted_at IS NULL
"""
_LOCK_ACTIVE_ADMINS: Final = """
    SELECT id FROM users WHERE role = 'admin' AND is_active AND deleted_at IS NULL
    ORDER BY id FOR UPDATE
"""
_COUNTS: Final = "SELECT total, live FROM user_counts"

# Which users a listing walks (by include_deleted) and in which direction (by newest_first).
# The names are unqualified: in a page's outer query `id` is USING's, `created_at` the user's.
_WHO: Final = {False: sql.SQL("WHERE deleted_at IS NULL"), True: sql.SQL("")}
_ORDER: Final = {
    False: sql.SQL("ORDER BY created_at, id"),
    True: sql.SQL("ORDER BY created_at DESC, id DESC"),
}
# The offset is skipped on the (created_at, id) index alone; only the page's rows are read.
# From the newest end, it serves pages nearer the end than the start.
_PAGE: Final = """
    WITH page AS (
        SELECT id FROM users {who} {order} OFFSET %(offset)s LIMIT %(limit)s
    )
    SELECT {columns} FROM page JOIN users u USING (id) {order}
"""
_PAGES: Final = {
    (include_deleted, newest_first): statement(
        _PAGE,
        who=_WHO[include_deleted],
        order=_ORDER[newest_first],
        columns=columns(USER_COLUMNS, of="u"),
    )
    for include_deleted in (False, True)
    for newest_first in (False, True)
}
# Keyset pages, oldest first: the row comparison walks the same index from the cursor on.
_AFTER: Final = """
    SELECT {columns} FROM users
    WHERE (created_at, id) > (%(created_at)s, %(id)s) {live}
    {order} LIMIT %(limit)s
"""
_AFTERS: Final = {
    include_deleted: statement(
        _AFTER,
        columns=_USER,
        live=sql.SQL("") if include_deleted else sql.SQL("AND deleted_at IS NULL"),
        order=_ORDER[False],
    )
    for include_deleted in (False, True)
}
_START: Final = ListPosition(created_at=datetime(1, 1, 1, tzinfo=UTC), user_id=UserId(UUID(int=0)))
EMAIL_CONSTRAINT: Final = "users_live_email_key"


def user_from_row(  # noqa: PLR0913 - one keyword per column of the row
    *,
    id: UUID,
    email: str,
    name: str,
    role: str,
    is_active: bool,
    created_at: datetime,
    updated_at: datetime,
    deleted_at: datetime | None,
    email_verified: bool,
    pending_email: str | None,
    mfa_enabled: bool,
) -> User:
    """Build a :class:`User` from a ``users`` row."""
    return User(
        id=UserId(id),
        email=Email(email),
        name=name,
        role=Role(role),
        is_active=is_active,
        created_at=created_at,
        updated_at=updated_at,
        deleted_at=deleted_at,
        email_verified=email_verified,
        pending_email=None if pending_email is None else Email(pending_email),
        mfa_enabled=mfa_enabled,
    )


def _params(user: User) -> dict[str, object]:
    return {
        "id": user.id,
        "email": user.email.value,
        "email_key": user.email.key,
        "name": user.name,
        "role": user.role.value,
        "is_active": user.is_active,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "deleted_at": user.deleted_at,
        "email_verified": user.email_verified,
        "pending_email": None if user.pending_email is None else user.pending_email.value,
        "mfa_enabled": user.mfa_enabled,
    }


class PostgresUserRepository:
    """The ``users`` table, on one connection (and its transaction, if any)."""

    def __init__(self, conn: psycopg.AsyncConnection[TupleRow]) -> None:
        """Run statements on *conn*."""
        self._conn = conn

    async def _one(self, query: bytes, params: dict[str, object]) -> User | None:
        cur = self._conn.cursor(row_factory=kwargs_row(user_from_row))
        await cur.execute(query, params)
        return await cur.fetchone()

    async def _many(self, query: bytes, params: dict[str, object]) -> list[User]:
        cur = self._conn.cursor(row_factory=kwargs_row(user_from_row))
        await cur.execute(query, params)
        return await cur.fetchall()

    async def _write(self, query: bytes, user: User) -> None:
        try:
            await self._conn.execute(query, _params(user))
        except psycopg.errors.UniqueViolation as exc:
            if exc.diag.constraint_name != EMAIL_CONSTRAINT:
                raise
            raise EmailTakenError(user.email.value) from None

    async def add(self, user: User) -> None:
        """Insert *user*; a taken email raises ``EmailTakenError``."""
        await self._write(_INSERT, user)

    async def update(self, user: User) -> None:
        """Overwrite the row of *user*; a taken email raises ``EmailTakenError``."""
        await self._write(_UPDATE, user)

    async def get(
        self, user_id: UserId, *, include_deleted: bool = False, for_update: bool = False
    ) -> User | None:
        """Return the user with *user_id*, optionally locking its row."""
        query = _SELECT_BY_ID_FOR_UPDATE if for_update else _SELECT_BY_ID
        return await self._one(query, {"id": user_id, "include_deleted": include_deleted})

    async def get_by_email(self, email: Email, *, include_deleted: bool = False) -> User | None:
        """Return the live user with *email*'s key, or the latest deleted one if asked."""
        user = await self._one(_SELECT_BY_EMAIL, {"email_key": email.key})
        if user is None and include_deleted:
            user = await self._one(_SELECT_DELETED_BY_EMAIL, {"email_key": email.key})
        return user

    async def count_active_admins(self, *, lock: bool = False) -> int:
        """Count active admins; *lock* holds their rows (in id order, so no deadlock)."""
        if lock:
            cur = await self._conn.execute(_LOCK_ACTIVE_ADMINS)
            return len(await cur.fetchall())
        cur = await self._conn.execute(_COUNT_ACTIVE_ADMINS)
        row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def count(self, *, include_deleted: bool = False) -> int:
        """Read the trigger-maintained count: constant time at any table size."""
        cur = await self._conn.execute(_COUNTS)
        row = await cur.fetchone()
        if row is None:
            return 0
        total, live = row
        return int(total if include_deleted else live)

    async def page(
        self, *, offset: int, limit: int, include_deleted: bool = False, newest_first: bool = False
    ) -> Sequence[User]:
        """Return users *offset* to *offset* + *limit* in creation order (or its reverse)."""
        query = _PAGES[include_deleted, newest_first]
        return await self._many(query, {"offset": offset, "limit": limit})

    async def after(
        self, position: ListPosition | None, *, limit: int, include_deleted: bool = False
    ) -> Sequence[User]:
        """Return up to *limit* users after *position* in creation order (keyset)."""
        start = position or _START
        return await self._many(
            _AFTERS[include_deleted],
            {"created_at": start.created_at, "id": start.user_id, "limit": limit},
        )
