"""The connection pool, the unit of work, and how database failures reach the domain."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final, LiteralString

import anyio
import attrs
import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from usermgmt.adapters.postgres.audit import PostgresAuditLog
from usermgmt.adapters.postgres.ceremonies import PostgresCeremonyStore
from usermgmt.adapters.postgres.credentials import PostgresCredentialStore
from usermgmt.adapters.postgres.devices import PostgresDeviceTokenStore
from usermgmt.adapters.postgres.events import PostgresEventOutbox
from usermgmt.adapters.postgres.onetime import PostgresOneTimeTokenStore
from usermgmt.adapters.postgres.sessions import PostgresSessionStore
from usermgmt.adapters.postgres.users import PostgresUserRepository
from usermgmt.domain.errors import SchemaOutdatedError, UnavailableError

CONNECT_TIMEOUT: Final = 3
"""Seconds to wait for a new connection, and for a free one from the pool."""

_APPLIED_MIGRATIONS: Final = "SELECT version FROM usermgmt_migrations"
_SCHEMA_MISSING: Final = (
    psycopg.errors.UndefinedTable,
    psycopg.errors.UndefinedColumn,
    psycopg.errors.UndefinedFunction,
)


@asynccontextmanager
async def translate_errors() -> AsyncIterator[None]:
    """Turn "the database cannot serve us" into :class:`UnavailableError`.

    Connection failures, pool time-outs and server shutdowns are
    ``OperationalError``s; a connection lost mid-statement may surface as an
    ``InterfaceError``; a missing table or column means the schema was never
    migrated. Everything else propagates unchanged.
    """
    try:
        yield
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        raise UnavailableError from exc
    except _SCHEMA_MISSING as exc:
        raise SchemaOutdatedError from exc


@attrs.frozen
class PostgresRepositories:
    """The repositories of one unit of work, on one connection."""

    users: PostgresUserRepository
    credentials: PostgresCredentialStore
    sessions: PostgresSessionStore
    devices: PostgresDeviceTokenStore
    one_time_tokens: PostgresOneTimeTokenStore
    ceremonies: PostgresCeremonyStore
    outbox: PostgresEventOutbox
    audit: PostgresAuditLog

    @classmethod
    def on(
        cls, conn: psycopg.AsyncConnection[TupleRow], *, alone: bool = False
    ) -> PostgresRepositories:
        """Return repositories that run their statements on *conn* (*alone*: in autocommit)."""
        return cls(
            PostgresUserRepository(conn),
            PostgresCredentialStore(conn),
            PostgresSessionStore(conn),
            PostgresDeviceTokenStore(conn),
            PostgresOneTimeTokenStore(conn),
            PostgresCeremonyStore(conn),
            PostgresEventOutbox(conn, alone=alone),
            PostgresAuditLog(conn),
        )


class PostgresUnitOfWork:
    """Scopes over pooled connections: a transaction, or single statements."""

    def __init__(self, pool: AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]]) -> None:
        """Borrow connections from *pool*."""
        self._pool = pool

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[PostgresRepositories]:
        """Run one transaction on one connection: commit at the end, roll back on error."""
        async with translate_errors(), self._pool.connection() as conn, conn.transaction():
            yield PostgresRepositories.on(conn)

    @asynccontextmanager
    async def standalone(self) -> AsyncIterator[PostgresRepositories]:
        """Lend one connection in autocommit mode: each statement is its own transaction."""
        async with translate_errors(), self._pool.connection() as conn:
            yield PostgresRepositories.on(conn, alone=True)


async def fit_to_pooler(conn: psycopg.AsyncConnection[TupleRow]) -> None:
    """Turn off server-side prepared statements when a pooler stands in front of the server.

    psycopg prepares a statement it has run a few times on a connection. Through
    a pooler in transaction mode (PgBouncer before 1.21, for one) the next
    transaction may run on another server connection, where that statement is
    unknown or already taken by another client. A pooler answers the start-up
    with its own cancel key, so the process id it announces is not the one the
    server reports: that tells the two cases apart at one query per connection.
    """
    cur = await conn.execute("SELECT pg_backend_pid()")
    row = await cur.fetchone()
    if row is None or row[0] != conn.info.backend_pid:
        conn.prepare_threshold = None


class PostgresDatabase:
    """One connection pool per process, opened and closed by its owner."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10) -> None:
        """Prepare (but do not open) a pool of *min_size* to *max_size* connections to *url*."""
        self.url = url
        self.pool: AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]] = AsyncConnectionPool(
            url,
            open=False,
            min_size=min_size,
            max_size=max_size,
            timeout=CONNECT_TIMEOUT,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
            configure=fit_to_pooler,
            name="usermgmt",
        )
        self.uow = PostgresUnitOfWork(self.pool)

    async def open(self) -> None:
        """Open the pool; it connects in the background, so an outage does not stop start-up."""
        await self.pool.open(wait=False)

    async def close(self) -> None:
        """Close the pool and every connection in it."""
        await self.pool.close()

    def connections(self) -> dict[str, int]:
        """Return the pool's connections by state (``idle``, ``in_use``) and ``waiting`` requests.

        Read from the pool's own counters: no query, no wait.
        """
        stats = self.pool.get_stats()
        size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
        return {
            "idle": idle,
            "in_use": max(0, size - idle),
            "waiting": stats.get("requests_waiting", 0),
        }

    async def ping(self, timeout: float = CONNECT_TIMEOUT) -> bool:  # noqa: ASYNC109 - bounds pool wait and query alike
        """Return whether the database answers a query within *timeout* seconds.

        After a failure the pool's idle connections are checked and the broken
        ones dropped, so that service resumes as soon as the database is back.
        """
        return await self._answer("SELECT 1", timeout) is not None

    async def applied_migrations(self, timeout: float = CONNECT_TIMEOUT) -> frozenset[int] | None:  # noqa: ASYNC109 - bounds pool wait and query alike
        """Return the versions of the migrations applied, read within *timeout* seconds.

        One query on a pooled connection. A database without the migrations
        table has applied none (an empty set); ``None`` means the database did
        not answer in time. A failure sweeps the idle connections, as
        :meth:`ping` does.
        """
        rows = await self._answer(_APPLIED_MIGRATIONS, timeout)
        return None if rows is None else frozenset(version for (version,) in rows)

    async def _answer(self, query: LiteralString, timeout: float) -> list[TupleRow] | None:  # noqa: ASYNC109 - bounds pool wait and query alike
        """Return the rows of *query*, or ``None`` if the database does not answer in time."""
        with anyio.move_on_after(timeout):
            try:
                async with self.pool.connection(timeout=timeout) as conn:
                    return await (await conn.execute(query)).fetchall()
            except psycopg.errors.UndefinedTable:
                return []
            except (psycopg.OperationalError, psycopg.InterfaceError):
                # A closed pool has no connection to check.
                with contextlib.suppress(psycopg.OperationalError):
                    await self.pool.check()
                return None
        return None
