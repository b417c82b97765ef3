"""Numbered plain-SQL migrations, applied once each, under an advisory lock.

A migration that must rewrite data in a way SQL cannot (Unicode case folding,
say, which PostgreSQL lacks) marks a line of its file with
``-- usermgmt:data-step``: the SQL before the marker runs, then the Python data
step registered for that version, then the SQL after it, all in the
migration's one transaction, so a failing step leaves nothing behind. The
checksum still covers the whole file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final

import attrs
import psycopg
from psycopg.rows import TupleRow

from usermgmt.adapters.postgres import upgrades
from usermgmt.domain.errors import MigrationError, UnavailableError

# An arbitrary constant: the key of the advisory lock that migrating processes queue on.
# Transaction-scoped, so that it holds through a pooler in transaction mode too.
_LOCK: Final = "SELECT pg_advisory_xact_lock(%s)"
_LOCK_KEY: Final = 0x75736572_6D676D74  # "usermgmt"
_FILE_NAME: Final = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
DATA_STEP_MARKER: Final = "-- usermgmt:data-step"
_MARKER_LINE: Final = re.compile(rf"^{re.escape(DATA_STEP_MARKER)}[ \t]*\r?$", re.MULTILINE)
_CREATE_TABLE: Final = """
    CREATE TABLE IF NOT EXISTS usermgmt_migrations (
        version    integer     PRIMARY KEY,
        name       text        NOT NULL,
        checksum   text        NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
    )
"""
_SELECT_APPLIED: Final = "SELECT version, name, checksum, applied_at FROM usermgmt_migrations"
_RECORD: Final = """
    INSERT INTO usermgmt_migrations (version, name, checksum)
    VALUES (%(version)s, %(name)s, %(checksum)s)
"""


DataStep = Callable[[psycopg.AsyncConnection[TupleRow]], Awaitable[None]]
"""Python work of a migration, run on the migrating connection inside its transaction.

It may read and write any table, and raises :class:`MigrationError` to refuse
the migration (which then changes nothing); it must not commit.
"""


@attrs.frozen(kw_only=True)
class MigrationFile:
    """One migration script as shipped, with the data step its marker calls for."""

    version: int
    name: str
    sql: str = attrs.field(repr=False)
    data_step: DataStep | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def label(self) -> str:
        """How operators see the migration: ``0003_email_key``."""
        return f"{self.version:04d}_{self.name}"

    @property
    def checksum(self) -> str:
        """The SHA-256 of the script: an applied script must never change."""
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()

    @property
    def parts(self) -> tuple[str, str]:
        """The SQL before the data-step marker and after it (all of it before, without one)."""
        marker = _MARKER_LINE.search(self.sql)
        if marker is None:
            return self.sql, ""
        return self.sql[: marker.start()], self.sql[marker.end() :]


_BUNDLED_DATA_STEPS: Final[Mapping[int, DataStep]] = {3: upgrades.fill_email_keys}


@attrs.frozen(kw_only=True)
class MigrationState:
    """A migration and when it was applied (``None``: pending)."""

    version: int
    name: str
    applied_at: datetime | None


def bundled_migrations() -> list[MigrationFile]:
    """Return the migrations shipped with the package, in order.

    Installed packages carry them in ``usermgmt/sql``; a source checkout has
    them in the repository's top-level ``sql/``.
    """
    shipped = resources.files("usermgmt") / "sql"
    source = Path(__file__).resolve().parents[4] / "sql"
    folder: Traversable = shipped if shipped.is_dir() else source
    if not folder.is_dir():
        raise MigrationError(f"the migrations are missing: neither {shipped} nor {source} exists")
    return read_migrations(folder.iterdir(), _BUNDLED_DATA_STEPS)


def read_migrations(
    entries: Iterable[Traversable], data_steps: Mapping[int, DataStep] | None = None
) -> list[MigrationFile]:
    """Return the migration files among *entries*, sorted by version.

    *data_steps* maps a version to the data step its file's marker calls for.

    Raises:
        MigrationError: two files share a version number; a file marks a data
            step that is not given (or more than one), or a step is given for
            a file that does not mark where it runs.
    """
    steps = dict(data_steps or {})
    found: dict[int, MigrationFile] = {}
    for entry in entries:
        match = _FILE_NAME.match(entry.name)
        if match is None:
            continue
        version = int(match["version"])
        if version in found:
            raise MigrationError(f"two migrations are numbered {version:04d}")
        migration = MigrationFile(
            version=version,
            name=match["name"],
            sql=entry.read_text(encoding="utf-8"),
            data_step=steps.pop(version, None),
        )
        _check_marker(migration)
        found[version] = migration
    if steps:
        missing = ", ".join(f"{v:04d}" for v in sorted(steps))
        raise MigrationError(f"data steps are given for migrations that do not exist: {missing}")
    return [found[v] for v in sorted(found)]


def _check_marker(migration: MigrationFile) -> None:
    markers = len(_MARKER_LINE.findall(migration.sql))
    if markers > 1:
        raise MigrationError(f"migration {migration.label} marks more than one data step")
    if markers and migration.data_step is None:
        raise MigrationError(
            f"migration {migration.label} marks a data step that this version of usermgmt "
            "does not have"
        )
    if not markers and migration.data_step is not None:
        raise MigrationError(
            f"migration {migration.label} has a data step but its file does not mark where "
            f"it runs (a line `{DATA_STEP_MARKER}`)"
        )


class Migrator:
    """Brings a database's schema up to date; safe when several processes start at once."""

    def __init__(self, url: str, migrations: list[MigrationFile] | None = None) -> None:
        """Migrate the database at *url* with *migrations* (default: the bundled ones)."""
        self._url = url
        self._migrations = bundled_migrations() if migrations is None else migrations

    @property
    def versions(self) -> frozenset[int]:
        """The version numbers of the migrations this migrator knows: the schema it brings."""
        return frozenset(m.version for m in self._migrations)

    async def _connect(self) -> psycopg.AsyncConnection[TupleRow]:
        try:
            # No server-side prepared statements: a pooler may run each
            # transaction on another server connection (they would gain nothing here).
            return await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, connect_timeout=10, prepare_threshold=None
            )
        except psycopg.OperationalError as exc:
            raise UnavailableError from exc

    async def status(self) -> list[MigrationState]:
        """Return every known migration with its state, checking applied ones are unchanged.

        Raises:
            MigrationError: an applied migration was edited, or is unknown to this version.
            UnavailableError: the database cannot be reached.
        """
        conn = await self._connect()
        async with conn:
            applied = await self._applied(conn)
        return [
            MigrationState(version=m.version, name=m.name, applied_at=applied.get(m.version))
            for m in self._migrations
        ]

    async def migrate(self) -> list[MigrationState]:
        """Apply every pending migration, each in its own transaction; return those applied.

        Each transaction first takes a transaction-scoped advisory lock, so that
        other processes migrating the same database wait, then find the
        migration applied. Being scoped to the transaction, the lock also holds
        through a pooler in transaction mode, where a session-level lock could
        be taken on one server connection and released on another.

        Raises:
            MigrationError: an applied migration was edited, or is unknown to this version.
            UnavailableError: the database cannot be reached.
        """
        conn = await self._connect()
        done: list[MigrationState] = []
        async with conn:
            async with conn.transaction():
                await conn.execute(_LOCK, (_LOCK_KEY,))
                await conn.execute(_CREATE_TABLE)
            while (migration := await self._apply_next(conn)) is not None:
                done.append(
                    MigrationState(version=migration.version, name=migration.name, applied_at=None)
                )
        return done

    async def _apply_next(self, conn: psycopg.AsyncConnection[TupleRow]) -> MigrationFile | None:
        """Apply the first pending migration under the lock; return it (None when none is left)."""
        async with conn.transaction():
            await conn.execute(_LOCK, (_LOCK_KEY,))
            applied = await self._applied(conn)
            pending = [m for m in self._migrations if m.version not in applied]
            if not pending:
                return None
            migration = pending[0]
            await _apply(conn, migration)
            await conn.execute(
                _RECORD,
                {
                    "version": migration.version,
                    "name": migration.name,
                    "checksum": migration.checksum,
                },
            )
            return migration

    async def _applied(self, conn: psycopg.AsyncConnection[TupleRow]) -> dict[int, datetime]:
        exists = await conn.execute("SELECT to_regclass('usermgmt_migrations') IS NOT NULL")
        row = await exists.fetchone()
        if row is None or not row[0]:
            return {}
        cur = await conn.execute(_SELECT_APPLIED)
        known = {m.version: m for m in self._migrations}
        applied: dict[int, datetime] = {}
        for version, name, checksum, applied_at in await cur.fetchall():
            migration = known.get(version)
            if migration is None:
                raise MigrationError(
                    f"the database has migration {version:04d}_{name}, which this version of "
                    "usermgmt does not know: upgrade usermgmt"
                )
            if migration.checksum != checksum:
                raise MigrationError(
                    f"migration {version:04d}_{name} was edited after it was applied; "
                    "restore the original file and add a new migration instead"
                )
            applied[version] = applied_at
        return applied


async def _apply(conn: psycopg.AsyncConnection[TupleRow], migration: MigrationFile) -> None:
    """Run *migration*'s SQL, and its data step between the two parts, on *conn*."""
    before, after = migration.parts
    # bytes: a script read from a file, sent whole with no parameters
    await conn.execute(before.encode("utf-8"))
    if migration.data_step is not None:
        await migration.data_step(conn)
        await conn.execute(after.encode("utf-8"))
