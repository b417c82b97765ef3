"""Time the listing of one user's sessions among a million sessions in the table.

Creates (once) the database ``bench_sessions`` on ``BENCH_PG`` (default
``postgresql://postgres@127.0.0.1:5432``), migrates it, adds ``--users``
accounts (default 10,000) and fills ``sessions`` with ``--rows`` sessions
(default 1 million, one ``INSERT … SELECT generate_series``): each account
gets ``rows / users`` sessions started over the last 60 days, of which one in
ten is revoked and one in ten has expired. Then it times
``PostgresSessions.list_live`` (the statement behind ``GET
/api/users/{id}/sessions``, ``GET /api/auth/sessions`` and ``usermgmt sessions
list``) for one account through the real adapter, round trip included, over
``--samples`` calls, prints p50 and p99, and prints the plan PostgreSQL chose
(``EXPLAIN (ANALYZE, BUFFERS)``), which should read
``sessions_live_by_user_created_idx`` and sort nothing.

    bench/.venvs/tools/bin/python bench/sessions_list.py            # or .venv/bin/python
    bench/.venvs/tools/bin/python bench/sessions_list.py --rows 100000 --users 1000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import UTC, datetime
from uuid import UUID

import psycopg
from psycopg import conninfo, sql

from usermgmt.adapters.postgres import Migrator, PostgresDatabase
from usermgmt.adapters.postgres.sessions import _LIST_LIVE
from usermgmt.domain.model import UserId
from usermgmt.domain.rules.sessions import SESSIONS_LISTED_MAX

SERVER = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
NAME = "bench_sessions"

_USERS = """
INSERT INTO users (id, email, email_key, name, created_at, updated_at)
SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(u), 12, '0'))::uuid,
       'user' || u || '@example.org', 'user' || u || '@example.org', 'User ' || u,
       now() - interval '90 days', now() - interval '90 days'
FROM generate_series(0, %(users)s - 1) AS u
"""

# Session i belongs to account i % users; creation times spread over 60 days so that
# each account's sessions interleave with everyone else's in the heap. Of each account's
# sessions (counted by i / users) one in ten has expired and one in ten is revoked.
_FILL = """
INSERT INTO sessions (id, user_id, created_at, expires_at, revoked_at, last_used_at, ip,
                      user_agent, amr)
SELECT ('00000000-0000-4000-9000-' || lpad(to_hex(i), 12, '0'))::uuid,
       ('00000000-0000-4000-8000-' || lpad(to_hex(i %% %(users)s), 12, '0'))::uuid,
       now() - interval '60 days' * (1 - i::float8 / %(rows)s),
       CASE WHEN (i / %(users)s) %% 10 = 3 THEN now() - interval '1 hour'
            ELSE now() - interval '60 days' * (1 - i::float8 / %(rows)s) + interval '90 days' END,
       CASE WHEN (i / %(users)s) %% 10 = 7 THEN now() - interval '1 day' END,
       now() - interval '60 days' * (1 - i::float8 / %(rows)s),
       '203.0.113.' || (i %% 250),
       'Mozilla/5.0 (X11; Linux x86_64) bench',
       '{pwd}'
FROM generate_series(1, %(rows)s) AS i
"""


def _user(n: int) -> UserId:
    return UserId(UUID(f"00000000-0000-4000-8000-{n:012x}"))


def prepare(rows: int, users: int) -> str:
    """Create, migrate and fill the database unless it already holds *rows* sessions."""
    url = conninfo.make_conninfo(SERVER, dbname=NAME)
    with psycopg.connect(conninfo.make_conninfo(SERVER, dbname="postgres"), autocommit=True) as c:
        if c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [NAME]).fetchone() is None:
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(NAME)))
    asyncio.run(Migrator(url).migrate())
    with psycopg.connect(url, autocommit=True) as conn:
        (have,) = conn.execute("SELECT count(*) FROM sessions").fetchone() or (0,)
        (accounts,) = conn.execute("SELECT count(*) FROM users").fetchone() or (0,)
        if have != rows or accounts != users:
            conn.execute("TRUNCATE users CASCADE")
            started = time.perf_counter()
            conn.execute(_USERS, {"users": users})
            conn.execute(_FILL, {"rows": rows, "users": users})
            print(
                f"filled {users:,} users and {rows:,} sessions in "
                f"{time.perf_counter() - started:.0f} s"
            )
            conn.execute("VACUUM ANALYZE users")
            conn.execute("VACUUM ANALYZE sessions")
    return url


async def measure(url: str, users: int, samples: int) -> None:
    """Print p50 and p99 of one account's listing, then the plan of its statement."""
    database = PostgresDatabase(url)
    await database.open()
    user = _user(users // 2)

    async def listing() -> int:
        async with database.uow.standalone() as repos:
            found = await repos.sessions.list_live(
                user, datetime.now(UTC), limit=SESSIONS_LISTED_MAX
            )
        return len(found)

    try:
        for _ in range(5):
            shown = await listing()  # warm the pool, the plan and the pages of the index
        took = []
        for _ in range(samples):
            started = time.perf_counter()
            await listing()
            took.append((time.perf_counter() - started) * 1000)
        took.sort()
        p50, p99 = statistics.median(took), took[max(int(len(took) * 0.99) - 1, 0)]
        print(f"{shown} live sessions listed of one account; {samples} calls")
        print(f"p50 {p50:.2f} ms   p99 {p99:.2f} ms")
        async with database.pool.connection() as conn:
            cur = await conn.execute(
                b"EXPLAIN (ANALYZE, BUFFERS) " + _LIST_LIVE,
                {"user_id": user, "now": datetime.now(UTC), "limit": SESSIONS_LISTED_MAX},
            )
            plan = [str(row[0]) for row in await cur.fetchall()]
        print("\n".join(plan))
        if not any("sessions_live_by_user_created_idx" in line for line in plan):
            msg = "the listing did not use sessions_live_by_user_created_idx"
            raise SystemExit(msg)
    finally:
        await database.close()


def main() -> None:
    """Prepare the database, then measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()
    url = prepare(args.rows, args.users)
    asyncio.run(measure(url, args.users, args.samples))


if __name__ == "__main__":
    main()
