"""Passkeys in PostgreSQL: ``credentials`` rows of the ``passkey`` kind.

The credential ID is ``public_id`` (unique among passkeys), the COSE public key
is ``secret`` (base64url: the column is text), and ``data`` keeps the
signature counter, the name, the transports, the backup state and the AAGUID.
:class:`PostgresPasskeys` is the part of the credential store that reads and
writes them.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow, kwargs_row
from psycopg.types.json import Jsonb

from usermgmt.adapters.postgres.compose import USER_COLUMNS, aliased, columns, statement
from usermgmt.adapters.postgres.users import user_from_row
from usermgmt.domain.credentials import CredentialId
from usermgmt.domain.model import User, UserId
from usermgmt.domain.passkeys import PasskeyCredential

PASSKEY_COLUMNS: Final = (
    "id",
    "user_id",
    "public_id",
    "secret",
    "data",
    "created_at",
    "updated_at",
    "last_used_at",
)
_PREFIX: Final = "passkey_"
_PUBLIC_ID_CONSTRAINT: Final = "credentials_public_id_key"
_INSERT: Final = """
    INSERT INTO credentials
        (kind, id, user_id, public_id, secret, data, created_at, updated_at, last_used_at)
    VALUES ('passkey', %(id)s, %(user_id)s, %(public_id)s, %(secret)s, %(data)s,
            %(created_at)s, %(updated_at)s, %(last_used_at)s)
"""
_OF_USER: Final = statement(
    """
    SELECT {columns} FROM credentials WHERE user_id = %(user_id)s AND kind = 'passkey'
    ORDER BY created_at, id
    """,
    columns=columns(PASSKEY_COLUMNS),
)
# A passkey login's one read before it verifies: the passkey and its live user.
_FOR_LOGIN: Final = statement(
    """
    SELECT {user}, {passkey}
    FROM credentials c JOIN users u ON u.id = c.user_id
    WHERE c.kind = 'passkey' AND c.public_id = %(public_id)s AND u.deleted_at IS NULL
    """,
    user=columns(USER_COLUMNS, of="u"),
    passkey=aliased(PASSKEY_COLUMNS, of="c", prefix=_PREFIX),
)
# Compare-and-set: of two assertions that saw the same counter, only one moves it.
_UPDATE_COUNTER: Final = """
    UPDATE credentials
    SET data = data || jsonb_build_object('sign_count', %(sign_count)s::bigint,
                                          'backed_up', %(backed_up)s::boolean),
        updated_at = %(now)s
    WHERE id = %(id)s AND kind = 'passkey' AND (data->>'sign_count')::bigint = %(expected)s
"""
_REMOVE: Final = """
    DELETE FROM credentials WHERE id = %(id)s AND user_id = %(user_id)s AND kind = 'passkey'
"""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def passkey_from_row(
    *,
    id: UUID,
    user_id: UUID,
    public_id: bytes,
    secret: str,
    data: Mapping[str, Any],
    created_at: datetime,
    updated_at: datetime,
    last_used_at: datetime | None,
) -> PasskeyCredential:
    """Build a :class:`PasskeyCredential` from a ``credentials`` row of the passkey kind."""
    return PasskeyCredential(
        id=CredentialId(id),
        user_id=UserId(user_id),
        credential_id=bytes(public_id),
        public_key=_unb64(secret),
        sign_count=int(data.get("sign_count", 0)),
        name=str(data.get("name", "")),
        transports=tuple(data.get("transports", ())),
        backed_up=bool(data.get("backed_up", False)),
        aaguid=str(data.get("aaguid", "")),
        created_at=created_at,
        updated_at=updated_at,
        last_used_at=last_used_at,
    )


def _login_from_row(**row: object) -> tuple[User, PasskeyCredential]:
    """Split a joined row into the user and the passkey."""
    passkey = {name: row.pop(_PREFIX + name) for name in PASSKEY_COLUMNS}
    user = user_from_row(**row)  # type: ignore[arg-type]  # exactly USER_COLUMNS remain
    return user, passkey_from_row(**passkey)  # type: ignore[arg-type]  # PASSKEY_COLUMNS


class PostgresPasskeys:
    """The passkey part of the credential store, on the store's connection."""

    _conn: psycopg.AsyncConnection[TupleRow]

    async def add_passkey(self, passkey: PasskeyCredential) -> bool:
        """Insert a new passkey; False if its credential ID is registered already."""
        params = {
            "id": passkey.id,
            "user_id": passkey.user_id,
            "public_id": passkey.credential_id,
            "secret": _b64(passkey.public_key),
            "data": Jsonb(
                {
                    "sign_count": passkey.sign_count,
                    "name": passkey.name,
                    "transports": list(passkey.transports),
                    "backed_up": passkey.backed_up,
                    "aaguid": passkey.aaguid,
                }
            ),
            "created_at": passkey.created_at,
            "updated_at": passkey.updated_at,
            "last_used_at": passkey.last_used_at,
        }
        try:
            async with self._conn.transaction():  # a savepoint inside the caller's transaction
                await self._conn.execute(_INSERT, params)
        except psycopg.errors.UniqueViolation as exc:
            if exc.diag.constraint_name != _PUBLIC_ID_CONSTRAINT:
                raise
            return False
        return True

    async def passkeys(self, user_id: UserId) -> list[PasskeyCredential]:
        """Return the user's passkeys, oldest first."""
        cur = self._conn.cursor(row_factory=kwargs_row(passkey_from_row))
        await cur.execute(_OF_USER, {"user_id": user_id})
        return await cur.fetchall()

    async def passkey_for_login(
        self, credential_id: bytes
    ) -> tuple[User, PasskeyCredential] | None:
        """Return the live user holding the passkey with *credential_id*, and the passkey."""
        cur = self._conn.cursor(row_factory=kwargs_row(_login_from_row))
        await cur.execute(_FOR_LOGIN, {"public_id": credential_id})
        return await cur.fetchone()

    async def update_passkey_counter(
        self,
        credential_id: CredentialId,
        *,
        expected: int,
        sign_count: int,
        backed_up: bool,
        now: datetime,
    ) -> bool:
        """Set the counter to *sign_count* if it is still *expected*."""
        params = {
            "id": credential_id,
            "expected": expected,
            "sign_count": sign_count,
            "backed_up": backed_up,
            "now": now,
        }
        cur = await self._conn.execute(_UPDATE_COUNTER, params)
        return cur.rowcount == 1

    async def remove_passkey(self, user_id: UserId, passkey_id: CredentialId) -> bool:
        """Delete the user's passkey *passkey_id*, if it is theirs."""
        cur = await self._conn.execute(_REMOVE, {"id": passkey_id, "user_id": user_id})
        return cur.rowcount == 1
