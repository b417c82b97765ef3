"""Users in PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow, kwargs_row

from usermgmt.domain.errors import EmailTakenError
from usermgmt.domain.model import Email, Role, User, UserId
from usermgmt.domain.rules.listing import ListPosition

_INSERT: Final = """
    INSERT INTO users (id, email, email_key, name, role, is_active, password_hash,
                       created_at, updated_at, deleted_at)
    VALUES (%(id)s, %(email)s, %(email_key)s, %(name)s, %(role)s, %(is_active)s,
            %(password_hash)s, %(created_at)s, %(updated_at)s, %(deleted_at)s)
"""
_UPDATE: Final = """
    UPDATE users SET email = %(email)s, email_key = %(email_key)s, name = %(name)s,
                     role = %(role)s, is_active = %(is_active)s, password_hash = %(password_hash)s,
                     updated_at = %(updated_at)s, deleted_at = %(deleted_at)s
    WHERE id = %(id)s
"""
_SELECT_BY_ID: Final = """
    SELECT id, email, name, role, is_active, password_hash, created_at, updated_at, deleted_at
    FROM users WHERE id = %(id)s AND (deleted_at IS NULL OR %(include_deleted)s)
"""
_SELECT_BY_ID_FOR_UPDATE: Final = """
    SELECT id, email, name, role, is_active, password_hash, created_at, updated_at, deleted_at
    FROM users WHERE id = %(id)s AND (deleted_at IS NULL OR %(include_deleted)s)
    FOR UPDATE
"""
_SELECT_BY_EMAIL: Final = """
    SELECT id, email, name, role, is_active, password_hash, created_at, updated_at, deleted_at
    FROM users WHERE email_key = %(email_key)s AND deleted_at IS NULL
"""
_SELECT_DELETED_BY_EMAIL: Final = """
    SELECT id, email, name, role, is_active, password_hash, created_at, updated_at, deleted_at
    FROM users WHERE email_key = %(email_key)s AND deleted_at IS NOT NULL
    ORDER BY deleted_at DESC LIMIT 1
"""
_REPLACE_HASH: Final = """
    UPDATE users SET password_hash = %(new)s
    WHERE id = %(id)s AND password_hash = %(old)s
"""
_COUNT_ACTIVE_ADMINS: Final = """
    SELECT count(*) FROM users WHERE role = 'admin' AND is_active AND deleted_at IS NULL
"""
_LOCK_ACTIVE_ADMINS: Final = """
    SELECT id FROM users WHERE role = 'admin' AND is_active AND deleted_at IS NULL
    ORDER BY id FOR UPDATE
"""
_COUNTS: Final = "SELECT total, live FROM user_counts"
# The offset is skipped on the (created_at, id) index alone; only the page's rows are read.
_PAGE_LIVE: Final = """
    WITH page AS (
        SELECT id FROM users WHERE deleted_at IS NULL
        ORDER BY created_at, id OFFSET %(offset)s LIMIT %(limit)s
    )
    SELECT u.id, u.email, u.name, u.role, u.is_active, u.password_hash,
           u.created_at, u.updated_at, u.deleted_at
    FROM page JOIN users u USING (id) ORDER BY u.created_at, u.id
"""
_PAGE_ALL: Final = """
    WITH page AS (
        SELECT id FROM users ORDER BY created_at, id OFFSET %(offset)s LIMIT %(limit)s
    )
    SELECT u.id, u.email, u.name, u.role, u.is_active, u.password_hash,
           u.created_at, u.updated_at, u.deleted_at
    FROM page JOIN users u USING (id) ORDER BY u.created_at, u.id
"""
# The same from the newest end, for pages nearer the end than the start.
_PAGE_LIVE_NEWEST_FIRST: Final = """
    WITH page AS (
        SELECT id FROM users WHERE deleted_at IS NULL
        ORDER BY created_at DESC, id DESC OFFSET %(offset)s LIMIT %(limit)s
    )
    SELECT u.id, u.email, u.name, u.role, u.is_active, u.password_hash,
           u.created_at, u.updated_at, u.deleted_at
    FROM page JOIN users u USING (id) ORDER BY u.created_at DESC, u.id DESC
"""
_PAGE_ALL_NEWEST_FIRST: Final = """
    WITH page AS (
        SELECT id FROM users ORDER BY created_at DESC, id DESC OFFSET %(offset)s LIMIT %(limit)s
    )
    SELECT u.id, u.email, u.name, u.role, u.is_active, u.password_hash,
           u.created_at, u.updated_at, u.deleted_at
    FROM page JOIN users u USING (id) ORDER BY u.created_at DESC, u.id DESC
"""
_AFTER_LIVE: Final = """
    SELECT id, email, name, role, is_active, password_hash, created_at, updated_at, deleted_at
    FROM users WHERE (created_at, id) > (%(created_at)s, %(id)s) AND deleted_at IS NULL
    ORDER BY created_at, id LIMIT %(limit)s
"""
_AFTER_ALL: Final = """
    SELECT id, email, name, role, is_active, password_hash, created_at, updated_at, deleted_at
    FROM users WHERE (created_at, id) > (%(created_at)s, %(id)s)
    ORDER BY created_at, id LIMIT %(limit)s
"""
_START: Final = ListPosition(created_at=datetime(1, 1, 1, tzinfo=UTC), user_id=UserId(UUID(int=0)))
EMAIL_CONSTRAINT: Final = "users_live_email_key"


def user_from_row(  # noqa: PLR0913 - one parameter per column
    *,
    id: UUID,
    email: str,
    name: str,
    role: str,
    is_active: bool,
    password_hash: str,
    created_at: datetime,
    updated_at: datetime,
    deleted_at: datetime | None,
) -> User:
    """Build a :class:`User` from a ``users`` row."""
    return User(
        id=UserId(id),
        email=Email(email),
        name=name,
        role=Role(role),
        is_active=is_active,
        password_hash=password_hash,
        created_at=created_at,
        updated_at=updated_at,
        deleted_at=deleted_at,
    )


def _params(user: User) -> dict[str, object]:
    return {
        "id": user.id,
        "email": user.email.value,
        "email_key": user.email.key,
        "name": user.name,
        "role": user.role.value,
        "is_active": user.is_active,
        "password_hash": user.password_hash,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "deleted_at": user.deleted_at,
    }


class PostgresUserRepository:
    """The ``users`` table, on one connection (and its transaction, if any)."""

    def __init__(self, conn: psycopg.AsyncConnection[TupleRow]) -> None:
        """Run statements on *conn*."""
        self._conn = conn

    async def _one(self, query: str, params: dict[str, object]) -> User | None:
        cur = self._conn.cursor(row_factory=kwargs_row(user_from_row))
        await cur.execute(query, params)
        return await cur.fetchone()

    async def _many(self, query: str, params: dict[str, object]) -> list[User]:
        cur = self._conn.cursor(row_factory=kwargs_row(user_from_row))
        await cur.execute(query, params)
        return await cur.fetchall()

    async def _write(self, query: str, user: User) -> None:
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

    async def replace_password_hash(self, user_id: UserId, old: str, new: str) -> bool:
        """Swap the hash if it is still *old*."""
        cur = await self._conn.execute(_REPLACE_HASH, {"id": user_id, "old": old, "new": new})
        return cur.rowcount == 1

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
        queries = {
            (False, False): _PAGE_LIVE,
            (True, False): _PAGE_ALL,
            (False, True): _PAGE_LIVE_NEWEST_FIRST,
            (True, True): _PAGE_ALL_NEWEST_FIRST,
        }
        query = queries[include_deleted, newest_first]
        return await self._many(query, {"offset": offset, "limit": limit})

    async def after(
        self, position: ListPosition | None, *, limit: int, include_deleted: bool = False
    ) -> Sequence[User]:
        """Return up to *limit* users after *position* in creation order (keyset)."""
        start = position or _START
        query = _AFTER_ALL if include_deleted else _AFTER_LIVE
        return await self._many(
            query, {"created_at": start.created_at, "id": start.user_id, "limit": limit}
        )
