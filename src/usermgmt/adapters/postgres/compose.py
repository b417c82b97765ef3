"""Each table's column list, written once, and the statements composed from it.

Statements are composed with :mod:`psycopg.sql` at import time and kept as the
bytes psycopg sends, so that no request pays for composing them again (a
composed statement re-renders every identifier on every execution). Column
names are plain ASCII, so rendering without a connection gives the same bytes
under any client encoding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, LiteralString

from psycopg import sql

USER_COLUMNS: Final = (
    "id",
    "email",
    "name",
    "role",
    "is_active",
    "created_at",
    "updated_at",
    "deleted_at",
    "email_verified",
    "pending_email",
    "mfa_enabled",
)
"""What a ``users`` row is read as; :func:`user_from_row` takes exactly these."""

USER_WRITTEN: Final = (*USER_COLUMNS[:2], "email_key", *USER_COLUMNS[2:])
"""What a ``users`` row is written as: the email's key is stored, never read back."""

USER_UPDATED: Final = tuple(c for c in USER_WRITTEN if c not in {"id", "created_at"})
"""What an update of a ``users`` row may change."""

PASSWORD_COLUMNS: Final = ("id", "user_id", "secret", "created_at", "updated_at", "last_used_at")
"""A ``credentials`` row of the password kind, as a password is read and written."""

SESSION_COLUMNS: Final = (
    "id",
    "user_id",
    "created_at",
    "expires_at",
    "last_used_at",
    "revoked_at",
    "ip",
    "user_agent",
    "amr",
)
"""A ``sessions`` row."""

REFRESH_TOKEN_COLUMNS: Final = ("token_hash", "session_id", "issued_at", "spent_at")
"""A ``refresh_tokens`` row."""

DEVICE_TOKEN_COLUMNS: Final = ("token_hash", "user_id", "issued_at", "expires_at")
"""A ``device_tokens`` row."""

ONE_TIME_TOKEN_COLUMNS: Final = (
    "token_hash",
    "user_id",
    "purpose",
    "data",
    "issued_at",
    "expires_at",
)
"""A ``one_time_tokens`` row."""


def columns(names: Sequence[str], *, of: str | None = None) -> sql.Composed:
    """Return ``a, b, c`` (or ``t.a, t.b, t.c`` when *of* names a table or alias)."""
    prefix = () if of is None else (of,)
    return sql.SQL(", ").join(sql.Identifier(*prefix, name) for name in names)


def aliased(names: Sequence[str], *, of: str, prefix: str) -> sql.Composed:
    """Return ``t.a AS pa, t.b AS pb, ...``: columns of *of* renamed apart from a join's others."""
    return sql.SQL(", ").join(
        sql.SQL("{} AS {}").format(sql.Identifier(of, name), sql.Identifier(prefix + name))
        for name in names
    )


def values(names: Sequence[str], **overrides: sql.Composable) -> sql.Composed:
    """Return ``%(a)s, %(b)s, ...``: one named placeholder per column, unless overridden."""
    return sql.SQL(", ").join(overrides.get(name, sql.Placeholder(name)) for name in names)


def assignments(names: Sequence[str]) -> sql.Composed:
    """Return ``a = %(a)s, b = %(b)s, ...`` for an ``UPDATE``."""
    return sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder(name)) for name in names
    )


def statement(template: LiteralString, **parts: sql.Composable) -> bytes:
    """Fill the ``{name}`` fields of *template* with *parts* and render it once.

    *template* keeps its named ``%(name)s`` placeholders: values are always
    bound at execution, never composed in.
    """
    return sql.SQL(template).format(**parts).as_bytes()
