"""Schema migrations: applied once, in order, safely in parallel, never edited."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import psycopg
import pytest

from usermgmt import MigrationError
from usermgmt.adapters.postgres import Migrator, migrate
from usermgmt.adapters.postgres.migrate import (
    DATA_STEP_MARKER,
    MigrationFile,
    bundled_migrations,
    read_migrations,
)

pytestmark = pytest.mark.anyio


async def test_a_fresh_database_has_every_migration_pending(fresh_database: str) -> None:
    """Status on an empty database lists all migrations, none applied, and changes nothing."""
    states = await Migrator(fresh_database).status()

    assert [s.version for s in states] == [m.version for m in bundled_migrations()]
    assert all(s.applied_at is None for s in states)
    with psycopg.connect(fresh_database) as conn:
        assert conn.execute("SELECT to_regclass('usermgmt_migrations')").fetchone() == (None,)


async def test_migrate_applies_each_migration_once(fresh_database: str) -> None:
    """The first run applies everything; the second finds nothing to do."""
    first = await Migrator(fresh_database).migrate()
    second = await Migrator(fresh_database).migrate()

    assert [s.version for s in first] == [m.version for m in bundled_migrations()]
    assert second == []
    assert all(s.applied_at is not None for s in await Migrator(fresh_database).status())


async def test_parallel_migrations_apply_once(fresh_database: str) -> None:
    """Eight processes starting at once: the advisory lock lets exactly one apply each file."""
    applied: list[int] = []

    async def migrate() -> None:
        applied.extend(s.version for s in await Migrator(fresh_database).migrate())

    async with anyio.create_task_group() as tg:
        for _ in range(8):
            tg.start_soon(migrate)

    assert sorted(applied) == [m.version for m in bundled_migrations()]


async def test_an_edited_migration_is_refused(fresh_database: str, tmp_path: Path) -> None:
    """Changing an applied file stops every later run with a clear error."""
    await Migrator(fresh_database).migrate()
    original = bundled_migrations()[0]
    edited = tmp_path / f"{original.version:04d}_{original.name}.sql"
    edited.write_text(original.sql + "\n-- an innocent-looking edit\n", encoding="utf-8")

    with pytest.raises(MigrationError, match="was edited after it was applied"):
        await Migrator(fresh_database, read_migrations([edited])).migrate()


async def test_a_database_from_a_newer_version_is_refused(fresh_database: str) -> None:
    """A migration this version does not know means the code is older than the schema."""
    await Migrator(fresh_database).migrate()

    with pytest.raises(MigrationError, match="does not know"):
        await Migrator(fresh_database, []).status()


def test_duplicate_version_numbers_are_refused(tmp_path: Path) -> None:
    """Two files with one number are a packaging error."""
    (tmp_path / "0007_a.sql").write_text("SELECT 1", encoding="utf-8")
    (tmp_path / "0007_b.sql").write_text("SELECT 2", encoding="utf-8")

    with pytest.raises(MigrationError, match="numbered 0007"):
        read_migrations(sorted(tmp_path.iterdir()))


def test_missing_migration_files_are_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A broken install without its SQL files fails with a MigrationError, not a traceback."""
    monkeypatch.setattr(migrate, "resources", SimpleNamespace(files=lambda _package: tmp_path))
    monkeypatch.setattr(migrate, "__file__", str(tmp_path / "a" / "b" / "c" / "d" / "migrate.py"))

    with pytest.raises(MigrationError, match="the migrations are missing"):
        bundled_migrations()


# --- data steps -------------------------------------------------------------------------------


def _migration(tmp_path: Path, file_name: str, sql: str) -> Path:
    path = tmp_path / file_name
    path.write_text(sql, encoding="utf-8")
    return path


_TWO_PARTS = f"""
CREATE TABLE pets (id integer PRIMARY KEY, name text, name_key text);
{DATA_STEP_MARKER}
ALTER TABLE pets ALTER COLUMN name_key SET NOT NULL;
CREATE UNIQUE INDEX pets_name_key ON pets (name_key);
"""


async def _fill_keys(conn: psycopg.AsyncConnection[Any]) -> None:
    # The step sees what the first part made, and the second part sees what the step wrote.
    await conn.execute("INSERT INTO pets (id, name) VALUES (1, 'Rex'), (2, 'Tom')")
    await conn.execute("UPDATE pets SET name_key = lower(name)")


def _pets(tmp_path: Path, step: Any) -> list[MigrationFile]:
    return read_migrations([_migration(tmp_path, "0001_pets.sql", _TWO_PARTS)], {1: step})


async def test_a_data_step_runs_between_the_two_parts_of_its_file(
    fresh_database: str, tmp_path: Path
) -> None:
    """The SQL before the marker, then the Python step, then the SQL after it."""
    applied = await Migrator(fresh_database, _pets(tmp_path, _fill_keys)).migrate()

    assert [s.version for s in applied] == [1]
    with psycopg.connect(fresh_database) as conn:
        assert conn.execute("SELECT id, name_key FROM pets ORDER BY id").fetchall() == [
            (1, "rex"),
            (2, "tom"),
        ]
        assert conn.execute("SELECT to_regclass('pets_name_key')").fetchone() == ("pets_name_key",)


async def test_a_refusing_data_step_leaves_nothing_behind(
    fresh_database: str, tmp_path: Path
) -> None:
    """A step that raises rolls back the first part too, and the migration stays pending."""

    async def refuse(conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.execute("INSERT INTO pets (id, name) VALUES (1, 'Rex')")
        raise MigrationError("two pets share a name")

    with pytest.raises(MigrationError, match="two pets share a name"):
        await Migrator(fresh_database, _pets(tmp_path, refuse)).migrate()

    with psycopg.connect(fresh_database) as conn:
        assert conn.execute("SELECT to_regclass('pets')").fetchone() == (None,)
        assert conn.execute("SELECT count(*) FROM usermgmt_migrations").fetchone() == (0,)
    states = await Migrator(fresh_database, _pets(tmp_path, _fill_keys)).status()
    assert [s.applied_at for s in states] == [None]


async def test_a_file_with_a_data_step_is_checksummed_whole(
    fresh_database: str, tmp_path: Path
) -> None:
    """Editing the part after the marker of an applied migration is refused like any edit."""
    await Migrator(fresh_database, _pets(tmp_path, _fill_keys)).migrate()
    edited = _migration(tmp_path, "0001_pets.sql", _TWO_PARTS + "-- an afterthought\n")

    with pytest.raises(MigrationError, match="was edited after it was applied"):
        await Migrator(fresh_database, read_migrations([edited], {1: _fill_keys})).status()


@pytest.mark.parametrize(
    ("sql", "steps", "message"),
    [
        (_TWO_PARTS, {}, "marks a data step that this version of usermgmt does not have"),
        ("CREATE TABLE pets (id integer);", {1: _fill_keys}, "does not mark where it runs"),
        (_TWO_PARTS + DATA_STEP_MARKER + "\n", {1: _fill_keys}, "more than one data step"),
        (_TWO_PARTS, {1: _fill_keys, 9: _fill_keys}, "do not exist: 0009"),
    ],
    ids=["marker-without-step", "step-without-marker", "two-markers", "step-without-file"],
)
def test_a_data_step_and_its_marker_come_together(
    tmp_path: Path, sql: str, steps: dict[int, Any], message: str
) -> None:
    """A marker with no step, a step with no marker or no file, two markers: packaging errors."""
    with pytest.raises(MigrationError, match=message):
        read_migrations([_migration(tmp_path, "0001_pets.sql", sql)], steps)


def test_the_marker_must_stand_on_its_own_line(tmp_path: Path) -> None:
    """The marker inside a longer comment is just a comment: the whole file is one part."""
    sql = f"CREATE TABLE pets (id integer); -- not here: {DATA_STEP_MARKER}\n"

    (migration,) = read_migrations([_migration(tmp_path, "0001_pets.sql", sql)])

    assert migration.parts == (sql, "")
