"""The Python data steps of migrations: data that SQL alone cannot compute.

Each step runs on the migrating connection, inside its migration's
transaction, between the two parts of the migration's file (see
:mod:`usermgmt.adapters.postgres.migrate`).
"""

from __future__ import annotations

from typing import Final
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow

from usermgmt.domain.errors import MigrationError
from usermgmt.domain.model import Email

_BATCH_SIZE: Final = 1000
_NEXT_BATCH: Final = """
    SELECT id, email FROM users WHERE id > %(after)s ORDER BY id LIMIT %(limit)s
"""
_SET_KEYS: Final = """
    UPDATE users AS u SET email_key = k.email_key
    FROM unnest(%(ids)s::uuid[], %(keys)s::text[]) AS k (id, email_key)
    WHERE u.id = k.id
"""
_COLLISIONS: Final = """
    SELECT email_key,
           array_agg(id ORDER BY created_at, id),
           array_agg(email ORDER BY created_at, id)
    FROM users WHERE deleted_at IS NULL
    GROUP BY email_key HAVING count(*) > 1
    ORDER BY email_key
"""


async def fill_email_keys(conn: psycopg.AsyncConnection[TupleRow]) -> None:
    """Store the ``NFKC_Casefold`` key of every user's address (migration 0003).

    Rows are read in id order, a batch at a time, so memory stays flat at any
    table size. Live users whose addresses turn out to be one address under
    the key are reported, never merged: the migration is refused and changes
    nothing. Deleted users may share a key with each other and with a live user.

    Raises:
        MigrationError: live users collide; the message lists each group.
    """
    after = UUID(int=0)
    while True:
        cur = await conn.execute(_NEXT_BATCH, {"after": after, "limit": _BATCH_SIZE})
        rows = await cur.fetchall()
        if not rows:
            break
        ids = [row[0] for row in rows]
        keys = [Email(row[1]).key for row in rows]
        await conn.execute(_SET_KEYS, {"ids": ids, "keys": keys})
        after = ids[-1]
    cur = await conn.execute(_COLLISIONS)
    collisions = await cur.fetchall()
    if collisions:
        raise MigrationError(_collision_report(collisions))


def _collision_report(groups: list[tuple[str, list[UUID], list[str]]]) -> str:
    def users(ids: list[UUID], emails: list[str]) -> str:
        return ", ".join(f"{user_id} ({email})" for user_id, email in zip(ids, emails, strict=True))

    listed = "; ".join(f"{key} is {users(ids, emails)}" for key, ids, emails in groups)
    noun = "address belongs" if len(groups) == 1 else "addresses belong"
    return (
        f"migration 0003_email_key refused, nothing was changed: {len(groups)} {noun} to "
        "several live users once letter case and Unicode compatibility forms are ignored: "
        f"{listed}. Keep one live account per address (give the others another email, or "
        "delete them; see 'Upgrading to the email key' in docs/cli.md), then migrate again."
    )
