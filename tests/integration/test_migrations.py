"""Schema migrations: applied once, in order, safely in parallel, never edited."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import anyio
import psycopg
import pytest

from usermgmt import MigrationError
from usermgmt.adapters.postgres import Migrator, migrate
from usermgmt.adapters.postgres.migrate import bundled_migrations, read_migrations

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
