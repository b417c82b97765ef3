"""Time keyset pages of the audit log at 10 million rows, at several depths.

Creates (once) the database ``bench_audit`` on ``BENCH_PG`` (default
``postgresql://postgres@127.0.0.1:5432``), migrates it, fills
``audit_events`` with ``--rows`` rows (default 10 million: 2,000 accounts,
eight types, spread over a year, one ``INSERT … SELECT generate_series``),
then times ``PostgresAuditLog.page`` (the statement the route runs) from
positions at several depths of the whole log, of one account's rows and of
one type's rows. Each figure is the wall time of one page of 20 rows,
round trip included, over ``--samples`` calls.

    bench/.venvs/tools/bin/python bench/audit_pages.py            # or .venv/bin/python
    bench/.venvs/tools/bin/python bench/audit_pages.py --rows 1000000 --samples 200
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from uuid import UUID

import psycopg
from psycopg import conninfo, sql

from usermgmt.adapters.postgres import Migrator, PostgresDatabase
from usermgmt.domain.audit import AuditFilter, AuditPosition

SERVER = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
NAME = "bench_audit"
USERS = 2000
TYPES = (
    "login_succeeded",
    "login_failed",
    "logged_out",
    "password_changed",
    "user_registered",
    "sessions_revoked",
    "role_changed",
    "access_denied",
)

_FILL = """
INSERT INTO audit_events (at, type, outcome, actor_id, user_id, session_id, ip, user_agent,
                          request_id, details)
SELECT now() - interval '365 days' + interval '365 days' * (i::float8 / %(rows)s),
       (%(types)s::text[])[1 + i %% %(kinds)s],
       CASE WHEN i %% %(kinds)s = 1 THEN 'failure' ELSE 'success' END,
       NULL,
       ('00000000-0000-4000-8000-' || lpad(to_hex(i %% %(users)s), 12, '0'))::uuid,
       NULL,
       '203.0.113.' || (i %% 250),
       'Mozilla/5.0 (X11; Linux x86_64) bench',
       md5(i::text),
       '{"reason": "wrong_password"}'::jsonb
FROM generate_series(1, %(rows)s) AS i
"""


def _user(n: int) -> UUID:
    return UUID(f"00000000-0000-4000-8000-{n:012x}")


def prepare(rows: int) -> str:
    """Create, migrate and fill the database unless it already holds *rows* rows."""
    url = conninfo.make_conninfo(SERVER, dbname=NAME)
    with psycopg.connect(conninfo.make_conninfo(SERVER, dbname="postgres"), autocommit=True) as c:
        if c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [NAME]).fetchone() is None:
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(NAME)))
    asyncio.run(Migrator(url).migrate())
    with psycopg.connect(url, autocommit=True) as conn:
        (have,) = conn.execute("SELECT count(*) FROM audit_events").fetchone() or (0,)
        if have != rows:
            conn.execute("TRUNCATE audit_events")
            started = time.perf_counter()
            conn.execute(
                _FILL, {"rows": rows, "types": list(TYPES), "kinds": len(TYPES), "users": USERS}
            )
            print(f"filled {rows:,} rows in {time.perf_counter() - started:.0f} s")
            conn.execute("VACUUM ANALYZE audit_events")
    return url


async def _position(
    database: PostgresDatabase, column: str | None, value: object, depth: int
) -> AuditPosition | None:
    """The position *depth* rows down the newest-first order of the rows with *column* = *value*."""
    if depth == 0:
        return None
    where = sql.SQL("")
    if column is not None:
        where = sql.SQL("WHERE {} = %(value)s").format(sql.Identifier(column))
    query = sql.SQL(
        "SELECT at, id FROM audit_events {} ORDER BY at DESC, id DESC OFFSET %(depth)s LIMIT 1"
    ).format(where)
    async with database.pool.connection() as conn:
        row = await (await conn.execute(query, {"value": value, "depth": depth})).fetchone()
    if row is None:
        msg = f"no row {depth} deep"
        raise LookupError(msg)
    return AuditPosition(at=row[0], id=row[1])


async def _time(call: Callable[[], Awaitable[object]], samples: int) -> tuple[float, float]:
    for _ in range(5):
        await call()  # warm the pool, the plan and the pages of the index
    took = []
    for _ in range(samples):
        started = time.perf_counter()
        await call()
        took.append((time.perf_counter() - started) * 1000)
    took.sort()
    return statistics.median(took), took[int(len(took) * 0.95) - 1]


async def measure(url: str, rows: int, samples: int) -> None:
    """Print p50 and p95 of one page at each depth of each walk."""
    database = PostgresDatabase(url)
    await database.open()
    user, kind = _user(7), "login_failed"
    walks = [
        ("whole log", AuditFilter(), None, None, rows),
        ("one account", AuditFilter(user_id=user), "user_id", user, rows // USERS),
        ("one type", AuditFilter(type=kind), "type", kind, rows // len(TYPES)),
    ]
    print(f"{'walk':<12} {'depth':>12} {'p50 ms':>8} {'p95 ms':>8}")
    try:
        for label, matching, column, value, size in walks:
            for fraction in (0, 0.001, 0.1, 0.5, 0.9, 0.9999):
                depth = int(size * fraction)
                after = await _position(database, column, value, depth)

                async def page(matching: AuditFilter = matching, after: object = after) -> object:
                    async with database.uow.standalone() as repos:
                        return await repos.audit.page(matching, after, limit=21)  # type: ignore[arg-type]

                p50, p95 = await _time(page, samples)
                print(f"{label:<12} {depth:>12,} {p50:>8.2f} {p95:>8.2f}")
    finally:
        await database.close()


def main() -> None:
    """Prepare the database, then measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args()
    url = prepare(args.rows)
    asyncio.run(measure(url, args.rows, args.samples))


if __name__ == "__main__":
    main()
