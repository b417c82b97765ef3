"""The service through a real PgBouncer in transaction pooling mode.

Through such a pooler one client's transactions run on whichever server
connection is free, so no state may outlive a transaction: no server-side
prepared statement, no session-level advisory lock. The pooler here keeps
only two server connections, so that transactions do move between them.
(``nox -s tests`` also runs most of the integration suite through PgBouncer.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from tests import pgbouncer
from usermgmt import SYSTEM, InvalidTokenError, Settings, UserManagement
from usermgmt.adapters.postgres import Migrator, PostgresDatabase
from usermgmt.adapters.postgres.migrate import bundled_migrations

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(pgbouncer.available() is not None, reason=str(pgbouncer.available())),
]

PASSWORD = "correct horse battery staple"


@pytest.fixture
def pooled(fresh_database: str) -> Iterator[str]:
    """Yield the fresh database's URL through a PgBouncer with two server connections."""
    with pgbouncer.pgbouncer(fresh_database, pool_size=2) as url:
        yield url


async def _threshold(url: str) -> int | None:
    database = PostgresDatabase(url, min_size=1, max_size=1)
    await database.open()
    try:
        async with database.pool.connection() as conn:
            return conn.prepare_threshold
    finally:
        await database.close()


async def test_the_pool_prepares_statements_only_without_a_pooler(
    fresh_database: str, pooled: str
) -> None:
    """A direct connection keeps psycopg's prepared statements; one through the pooler does not."""
    assert await _threshold(fresh_database) == 5  # psycopg's default
    assert await _threshold(pooled) is None


async def test_migrations_run_through_the_pooler_each_file_once(pooled: str) -> None:
    """Four migrators at once through the pooler: every file applied once, no lock left held."""
    results = await asyncio.gather(*(Migrator(pooled).migrate() for _ in range(4)))

    applied = [state.version for result in results for state in result]
    assert sorted(applied) == [m.version for m in bundled_migrations()]
    states = await Migrator(pooled).status()
    assert all(state.applied_at is not None for state in states)
    with psycopg.connect(pooled, autocommit=True) as conn:
        held = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database ="
            " (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchone()
    assert held == (0,)


async def test_sessions_rotate_and_end_through_the_pooler(pooled: str, settings: Settings) -> None:
    """Four users refreshing and reading at once, then logging out: no statement is lost."""
    await Migrator(pooled).migrate()
    async with UserManagement.from_url(pooled, settings) as um:

        async def one_user(n: int) -> None:
            email = f"pooled{n}@example.com"
            await um.register_user(email, PASSWORD, f"Pooled {n}")
            pair = await um.authenticate(email, PASSWORD)
            for _ in range(25):  # far past psycopg's prepare threshold
                await um.validate_access_token(pair.access_token)
                pair = await um.refresh(pair.refresh_token)
            principal = await um.validate_access_token(pair.access_token)
            await um.logout(principal)
            with pytest.raises(InvalidTokenError):
                await um.validate_access_token(pair.access_token)

        await asyncio.gather(*(one_user(n) for n in range(4)))


async def test_the_audit_purge_flag_stays_in_its_transaction_through_the_pooler(
    pooled: str, settings: Settings
) -> None:
    """Purges and appends interleave on two server connections; no other delete gets through."""
    await Migrator(pooled).migrate()
    async with UserManagement.from_url(pooled, settings) as um:
        for n in range(4):
            await um.register_user(f"audited{n}@example.com", PASSWORD)

        async def purge_and_write(n: int) -> None:
            await um.purge_audit_events(datetime(2000, 1, 1, tzinfo=UTC), actor=SYSTEM)
            await um.register_user(f"later{n}@example.com", PASSWORD)

        await asyncio.gather(*(purge_and_write(n) for n in range(4)))
        rows = (await um.list_audit_events(actor=SYSTEM, per_page=100)).items

    # Each registration also queues its verification mail (a mail_queued row of its own).
    counted = sorted(r.type for r in rows if r.type in {"audit_purged", "user_registered"})
    assert counted == ["audit_purged"] * 4 + ["user_registered"] * 8
    for _ in range(4):  # each of the pooler's server connections, and then some
        with (
            psycopg.connect(pooled, autocommit=True) as conn,
            pytest.raises(psycopg.errors.InsufficientPrivilege),
        ):
            conn.execute("DELETE FROM audit_events")
