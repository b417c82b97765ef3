"""The integration tests' PostgreSQL: a fresh, migrated database for the whole run.

Where the server comes from, in order:

1. ``USERMGMT_TEST_DATABASE_URL``, any PostgreSQL >= 14 (CI points it at a local server);
2. a testcontainers PostgreSQL, when a Docker engine answers;
3. the embedded server (pgserver), in a temporary directory.

Each run creates its own database on that server and drops it afterwards;
every test starts from empty tables.

With ``USERMGMT_TEST_PGBOUNCER=1`` the tests reach that database through a
real PgBouncer in transaction pooling mode (``tests/pgbouncer.py``), which
also applies the migrations: ``nox -s tests`` runs a second pass so.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import secrets
import tempfile
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo, sql

from tests import pgbouncer
from usermgmt import Settings, UserManagement
from usermgmt.adapters.postgres import Migrator, PostgresDatabase

_TABLES = sql.SQL(
    "TRUNCATE users, sessions, refresh_tokens, login_failures, key_value_store, event_outbox,"
    " one_time_tokens, audit_events CASCADE"
)


def _docker_answers() -> bool:
    try:
        import docker  # noqa: PLC0415 - only needed on this path

        # A fixed API version: "auto" would ask the daemon at once, and leak the socket on failure.
        client = docker.from_env(version="1.41", timeout=2)
    except Exception:  # noqa: BLE001 - any failure means "no Docker here"
        return False
    try:
        return bool(client.ping())
    except Exception:  # noqa: BLE001
        return False
    finally:
        client.close()


@functools.cache
def _source() -> str:
    """Say where this run's PostgreSQL comes from: ``url``, ``docker`` or ``embedded``."""
    if os.environ.get("USERMGMT_TEST_DATABASE_URL"):
        return "url"
    return "docker" if _docker_answers() else "embedded"


def _describe(url: str) -> str:
    """Return *url* for a report line: host, port and user, never a password."""
    params = conninfo.conninfo_to_dict(url)
    params.pop("password", None)
    return " ".join(f"{key}={value}" for key, value in params.items())


def _through_pgbouncer() -> bool:
    return os.environ.get("USERMGMT_TEST_PGBOUNCER", "") == "1"


def pytest_report_header() -> str:
    """Say in the run's header which PostgreSQL the integration tests use."""
    line = _report_source()
    if _through_pgbouncer():
        line += ", through PgBouncer in transaction pooling mode"
    return line


def _report_source() -> str:
    source = _source()
    if source == "url":
        url = os.environ["USERMGMT_TEST_DATABASE_URL"]
        return f"usermgmt: PostgreSQL from USERMGMT_TEST_DATABASE_URL ({_describe(url)})"
    if source == "docker":
        return "usermgmt: PostgreSQL 16 in a testcontainers container (Docker answered)"
    return "usermgmt: the embedded PostgreSQL (pgserver), in a temporary directory"


@contextlib.contextmanager
def _server_url() -> Iterator[str]:
    """Yield the URL of a PostgreSQL server's maintenance database."""
    source = _source()
    if source == "url":
        yield os.environ["USERMGMT_TEST_DATABASE_URL"]
        return
    if source == "docker":
        try:
            from testcontainers.community.postgres import PostgresContainer  # noqa: PLC0415
        except ImportError:
            from testcontainers.postgres import PostgresContainer  # noqa: PLC0415

        with PostgresContainer("postgres:16-alpine", driver=None) as container:
            yield container.get_connection_url()
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs, at import, without XDG_RUNTIME_DIR
        import pgserver  # noqa: PLC0415

    with (
        tempfile.TemporaryDirectory(prefix="usermgmt-test-pg-") as data,
        pgserver.get_server(Path(data), cleanup_mode="stop") as server,  # stopped on leaving
    ):
        yield server.get_uri("postgres")


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """Yield the URL of a fresh, migrated database that lives for the whole test run."""
    with _server_url() as server_url:
        name = f"usermgmt_test_{os.getpid()}_{secrets.token_hex(4)}"
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = conninfo.make_conninfo(server_url, dbname=name)
        try:
            if _through_pgbouncer():
                yield from _pooled(url)
            else:
                asyncio.run(Migrator(url).migrate())
                yield url
        finally:
            with psycopg.connect(server_url, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


def _pooled(url: str) -> Iterator[str]:
    """Yield *url* through a PgBouncer started for the run, migrated through it."""
    reason = pgbouncer.available()
    if reason is not None:
        pytest.skip(f"USERMGMT_TEST_PGBOUNCER=1 but {reason}")
    with pgbouncer.pgbouncer(url) as pooled:
        asyncio.run(Migrator(pooled).migrate())
        yield pooled


@pytest.fixture
def fresh_database(database_url: str) -> Iterator[str]:
    """Yield the URL of a brand-new, empty database on the test server."""
    name = f"usermgmt_fresh_{secrets.token_hex(4)}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield conninfo.make_conninfo(database_url, dbname=name)
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def empty_database(database_url: str) -> str:
    """Return the test database's URL with every table emptied."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_TABLES)
    return database_url


@pytest.fixture
async def database(empty_database: str) -> AsyncIterator[PostgresDatabase]:
    """Yield an open connection pool on the emptied test database."""
    database = PostgresDatabase(empty_database)
    await database.open()
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def service(empty_database: str, settings: Settings) -> AsyncIterator[UserManagement]:
    """Yield an open service on the emptied test database."""
    async with UserManagement.from_url(empty_database, settings) as um:
        yield um
