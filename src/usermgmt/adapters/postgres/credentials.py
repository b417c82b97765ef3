"""Credentials in PostgreSQL: the ``credentials`` table (passwords; passkeys in ``passkeys``)."""

from __future__ import annotations

from datetime import datetime
from typing import Final
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow, kwargs_row

from usermgmt.adapters.postgres.compose import (
    PASSWORD_COLUMNS,
    USER_COLUMNS,
    aliased,
    columns,
    statement,
    values,
)
from usermgmt.adapters.postgres.passkeys import PostgresPasskeys
from usermgmt.adapters.postgres.users import user_from_row
from usermgmt.domain.credentials import CredentialId, CredentialKind, PasswordCredential
from usermgmt.domain.model import Email, User, UserId

_PASSWORD: Final = columns(PASSWORD_COLUMNS)
_INSERT_PASSWORD: Final = statement(
    "INSERT INTO credentials (kind, {columns}) VALUES (%(kind)s, {values})",
    columns=_PASSWORD,
    values=values(PASSWORD_COLUMNS),
)
_BY_USER: Final = """
    SELECT {columns} FROM credentials WHERE user_id = %(user_id)s AND kind = 'password'
"""
_SELECT_PASSWORD: Final = statement(_BY_USER, columns=_PASSWORD)
_SELECT_PASSWORD_FOR_UPDATE: Final = statement(_BY_USER + "FOR UPDATE", columns=_PASSWORD)
_PREFIX: Final = "password_"
# A login's only read before it verifies: the live user and the password, one indexed join.
# LEFT: a user without a password is found, and fails like a wrong password.
_FOR_LOGIN: Final = statement(
    """
    SELECT {user}, {password}
    FROM users u LEFT JOIN credentials c ON c.user_id = u.id AND c.kind = 'password'
    WHERE u.email_key = %(email_key)s AND u.deleted_at IS NULL
    """,
    user=columns(USER_COLUMNS, of="u"),
    password=aliased(PASSWORD_COLUMNS, of="c", prefix=_PREFIX),
)
_CHANGE: Final = """
    UPDATE credentials SET secret = %(secret)s, updated_at = %(updated_at)s WHERE id = %(id)s
"""
_REPLACE_HASH: Final = """
    UPDATE credentials SET secret = %(new)s WHERE id = %(id)s AND secret = %(old)s
"""
# Concurrent sign-ins may finish out of order: the latest time wins (GREATEST skips NULL).
_MARK_USED: Final = """
    UPDATE credentials SET last_used_at = GREATEST(last_used_at, %(now)s) WHERE id = %(id)s
"""
PASSWORD_CONSTRAINT: Final = "credentials_password_key"  # noqa: S105 - an index name


def password_from_row(
    *,
    id: UUID,
    user_id: UUID,
    secret: str,
    created_at: datetime,
    updated_at: datetime,
    last_used_at: datetime | None,
) -> PasswordCredential:
    """Build a :class:`PasswordCredential` from a ``credentials`` row of the password kind."""
    return PasswordCredential(
        id=CredentialId(id),
        user_id=UserId(user_id),
        password_hash=secret,
        created_at=created_at,
        updated_at=updated_at,
        last_used_at=last_used_at,
    )


def _login_from_row(**row: object) -> tuple[User, PasswordCredential | None]:
    """Split a joined row into the user and (when the join found one) the password."""
    password = {name: row.pop(_PREFIX + name) for name in PASSWORD_COLUMNS}
    user = user_from_row(**row)  # type: ignore[arg-type]  # exactly USER_COLUMNS remain
    if password["id"] is None:
        return user, None
    return user, password_from_row(**password)  # type: ignore[arg-type]  # PASSWORD_COLUMNS


class PostgresCredentialStore(PostgresPasskeys):
    """The ``credentials`` table, on one connection (and its transaction, if any)."""

    def __init__(self, conn: psycopg.AsyncConnection[TupleRow]) -> None:
        """Run statements on *conn*."""
        self._conn = conn

    async def add_password(self, credential: PasswordCredential) -> None:
        """Insert the user's first password; a second one raises ``ValueError``."""
        params = {
            "kind": CredentialKind.PASSWORD.value,
            "id": credential.id,
            "user_id": credential.user_id,
            "secret": credential.password_hash,
            "created_at": credential.created_at,
            "updated_at": credential.updated_at,
            "last_used_at": credential.last_used_at,
        }
        try:
            await self._conn.execute(_INSERT_PASSWORD, params)
        except psycopg.errors.UniqueViolation as exc:
            if exc.diag.constraint_name != PASSWORD_CONSTRAINT:
                raise
            msg = f"user {credential.user_id} has a password already"
            raise ValueError(msg) from None

    async def password(
        self, user_id: UserId, *, for_update: bool = False
    ) -> PasswordCredential | None:
        """Return the user's password, optionally locking its row."""
        query = _SELECT_PASSWORD_FOR_UPDATE if for_update else _SELECT_PASSWORD
        cur = self._conn.cursor(row_factory=kwargs_row(password_from_row))
        await cur.execute(query, {"user_id": user_id})
        return await cur.fetchone()

    async def for_login(self, email: Email) -> tuple[User, PasswordCredential | None] | None:
        """Return the live user with *email*'s key and their password, in one query."""
        cur = self._conn.cursor(row_factory=kwargs_row(_login_from_row))
        await cur.execute(_FOR_LOGIN, {"email_key": email.key})
        return await cur.fetchone()

    async def change_password(self, credential: PasswordCredential) -> None:
        """Overwrite the stored hash and change time of *credential*."""
        params = {
            "id": credential.id,
            "secret": credential.password_hash,
            "updated_at": credential.updated_at,
        }
        await self._conn.execute(_CHANGE, params)

    async def replace_password_hash(self, credential_id: CredentialId, old: str, new: str) -> bool:
        """Swap the hash if it is still *old*."""
        cur = await self._conn.execute(_REPLACE_HASH, {"id": credential_id, "old": old, "new": new})
        return cur.rowcount == 1

    async def mark_used(self, credential_id: CredentialId, now: datetime) -> None:
        """Record a sign-in with the credential at *now* (never moving the time back)."""
        await self._conn.execute(_MARK_USED, {"id": credential_id, "now": now})
