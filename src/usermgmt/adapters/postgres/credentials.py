"""Credentials in PostgreSQL: passwords, TOTP keys, recovery codes (passkeys: ``passkeys``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow, kwargs_row
from psycopg.types.json import Jsonb

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
from usermgmt.domain.credentials import (
    CredentialId,
    CredentialKind,
    PasswordCredential,
    RecoveryCode,
    TotpCredential,
)
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
_TOTP_BY_USER: Final = """
    SELECT id, user_id, secret, data, created_at, updated_at, last_used_at
    FROM credentials WHERE user_id = %(user_id)s AND kind = 'totp'
"""
_SELECT_TOTP: Final = _TOTP_BY_USER
_SELECT_TOTP_FOR_UPDATE: Final = _TOTP_BY_USER + "FOR UPDATE"
_DELETE_KIND: Final = """
    DELETE FROM credentials WHERE user_id = %(user_id)s AND kind = ANY(%(kinds)s)
"""
_INSERT_CREDENTIAL: Final = """
    INSERT INTO credentials (id, user_id, kind, secret, data, created_at, updated_at,
                             last_used_at)
    VALUES (%(id)s, %(user_id)s, %(kind)s, %(secret)s, %(data)s, %(created_at)s,
            %(updated_at)s, %(last_used_at)s)
"""
_CONFIRM_TOTP: Final = """
    UPDATE credentials
    SET data = jsonb_build_object('confirmed', true, 'last_step', %(step)s::bigint),
        updated_at = %(now)s, last_used_at = %(now)s
    WHERE id = %(id)s AND kind = 'totp' AND NOT (data->>'confirmed')::boolean
"""
# The compare-and-set that accepts a code once: under READ COMMITTED a second UPDATE of
# the row waits for the first, then sees its last_step and matches nothing.
_ACCEPT_STEP: Final = """
    UPDATE credentials
    SET data = jsonb_set(data, '{last_step}', to_jsonb(%(step)s::bigint)),
        last_used_at = GREATEST(last_used_at, %(now)s)
    WHERE id = %(id)s AND kind = 'totp' AND (data->>'confirmed')::boolean
      AND COALESCE((data->>'last_step')::bigint, -1) < %(step)s
"""
_SPEND_CODE: Final = """
    DELETE FROM credentials
    WHERE user_id = %(user_id)s AND kind = 'recovery_code' AND secret = %(secret)s
"""
_COUNT_CODES: Final = """
    SELECT count(*) FROM credentials WHERE user_id = %(user_id)s AND kind = 'recovery_code'
"""


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


def totp_from_row(
    *,
    id: UUID,
    user_id: UUID,
    secret: str,
    data: dict[str, object],
    created_at: datetime,
    updated_at: datetime,
    last_used_at: datetime | None,
) -> TotpCredential:
    """Build a :class:`TotpCredential` from a ``credentials`` row of the totp kind."""
    last_step = data.get("last_step")
    return TotpCredential(
        id=CredentialId(id),
        user_id=UserId(user_id),
        secret=secret,
        confirmed=bool(data.get("confirmed", False)),
        last_step=int(last_step) if isinstance(last_step, int) else None,
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

    async def totp(self, user_id: UserId, *, for_update: bool = False) -> TotpCredential | None:
        """Return the user's TOTP key, optionally locking its row."""
        query = _SELECT_TOTP_FOR_UPDATE if for_update else _SELECT_TOTP
        cur = self._conn.cursor(row_factory=kwargs_row(totp_from_row))
        await cur.execute(query, {"user_id": user_id})
        return await cur.fetchone()

    async def set_totp(self, credential: TotpCredential) -> None:
        """Delete the user's TOTP key, if any, and insert *credential*."""
        await self._conn.execute(
            _DELETE_KIND, {"user_id": credential.user_id, "kinds": [CredentialKind.TOTP.value]}
        )
        data = {"confirmed": credential.confirmed, "last_step": credential.last_step}
        await self._conn.execute(
            _INSERT_CREDENTIAL,
            {
                "id": credential.id,
                "user_id": credential.user_id,
                "kind": CredentialKind.TOTP.value,
                "secret": credential.secret,
                "data": Jsonb(data),
                "created_at": credential.created_at,
                "updated_at": credential.updated_at,
                "last_used_at": credential.last_used_at,
            },
        )

    async def confirm_totp(self, credential_id: CredentialId, step: int, now: datetime) -> bool:
        """Turn the pending key on, if it still is pending."""
        cur = await self._conn.execute(
            _CONFIRM_TOTP, {"id": credential_id, "step": step, "now": now}
        )
        return cur.rowcount == 1

    async def accept_totp_step(self, credential_id: CredentialId, step: int, now: datetime) -> bool:
        """Move the last accepted step forward to *step*, if it is later (one statement)."""
        cur = await self._conn.execute(
            _ACCEPT_STEP, {"id": credential_id, "step": step, "now": now}
        )
        return cur.rowcount == 1

    async def replace_recovery_codes(self, user_id: UserId, codes: Sequence[RecoveryCode]) -> None:
        """Delete the user's codes and insert *codes*."""
        await self._conn.execute(
            _DELETE_KIND, {"user_id": user_id, "kinds": [CredentialKind.RECOVERY_CODE.value]}
        )
        async with self._conn.cursor() as cur:
            await cur.executemany(
                _INSERT_CREDENTIAL,
                [
                    {
                        "id": code.id,
                        "user_id": user_id,
                        "kind": CredentialKind.RECOVERY_CODE.value,
                        "secret": code.code_hash,
                        "data": Jsonb({}),
                        "created_at": code.created_at,
                        "updated_at": code.created_at,
                        "last_used_at": None,
                    }
                    for code in codes
                ],
            )

    async def spend_recovery_code(self, user_id: UserId, code_hash: str) -> bool:
        """Delete the code if the user has it: one statement."""
        cur = await self._conn.execute(_SPEND_CODE, {"user_id": user_id, "secret": code_hash})
        return cur.rowcount == 1

    async def count_recovery_codes(self, user_id: UserId) -> int:
        """Count the user's codes."""
        cur = await self._conn.execute(_COUNT_CODES, {"user_id": user_id})
        row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def remove_second_factors(self, user_id: UserId) -> int:
        """Delete the user's TOTP key and recovery codes."""
        kinds = [CredentialKind.TOTP.value, CredentialKind.RECOVERY_CODE.value]
        cur = await self._conn.execute(_DELETE_KIND, {"user_id": user_id, "kinds": kinds})
        return cur.rowcount
