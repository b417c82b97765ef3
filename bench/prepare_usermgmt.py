"""Helpers that need usermgmt itself; run with the usermgmt virtualenv's Python.

python prepare_usermgmt.py migrate DSN         apply usermgmt's migrations
python prepare_usermgmt.py cursor DSN DEPTH    print the cursor after the DEPTH-th user
"""

from __future__ import annotations

import sys

import anyio
import psycopg

from usermgmt import Settings, UserManagement
from usermgmt.adapters.postgres import PostgresDatabase, PostgresServiceSecrets
from usermgmt.domain.model import UserId
from usermgmt.domain.rules.listing import CURSOR_SECRET, ListPosition, encode_cursor

# Only to build the service for its migrations: no token is signed with it.
_SECRET = "bench-only-signing-secret-0123456789abcdef"  # noqa: S105 - benchmark only


def migrate(dsn: str) -> None:
    settings = Settings(jwt_secret=_SECRET, migrate_on_start=False)
    with UserManagement.from_url(dsn, settings).blocking() as um:
        for state in um.migrate():
            print(f"applied {state}")


def cursor(dsn: str, depth: int) -> None:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT created_at, id FROM users WHERE deleted_at IS NULL"
            " ORDER BY created_at, id OFFSET %s LIMIT 1",
            (depth - 1,),
        ).fetchone()
    if row is None:
        sys.exit(f"fewer than {depth} users")
    print(encode_cursor(ListPosition(created_at=row[0], user_id=UserId(row[1])), key(dsn)))


def key(dsn: str) -> bytes:
    """Return the database's cursor key: the one the servers sign and check cursors with."""

    async def read() -> bytes:
        database = PostgresDatabase(dsn)
        await database.open()
        try:
            return await PostgresServiceSecrets(database.pool).secret(CURSOR_SECRET)
        finally:
            await database.close()

    return anyio.run(read)


if __name__ == "__main__":
    match sys.argv[1:]:
        case ["migrate", dsn]:
            migrate(dsn)
        case ["cursor", dsn, depth]:
            cursor(dsn, int(depth))
        case _:
            sys.exit(__doc__)
