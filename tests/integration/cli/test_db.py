"""``usermgmt db migrate`` and ``db status`` on a brand-new database."""

from __future__ import annotations

import uuid

import anyio
import psycopg
import pytest

from usermgmt.adapters.postgres import Migrator
from usermgmt.adapters.postgres.migrate import bundled_migrations

from .conftest import Cli

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/nowhere"


def _has_migrations_table(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT to_regclass('usermgmt_migrations') IS NOT NULL").fetchone()
    return bool(row and row[0])


def _status_rows(stdout: str) -> list[list[str]]:
    """Return the table rows of ``db status`` (version first), without header or summary."""
    return [line.split() for line in stdout.splitlines() if line[:4].isdigit()]


def test_status_on_a_fresh_database_lists_all_pending_and_changes_nothing(
    cli: Cli, fresh_database: str
) -> None:
    """Before any migrate every migration is pending, and status creates no table."""
    shipped = bundled_migrations()

    result = cli("db", "status", "--database-url", fresh_database)

    assert result.exit_code == 0, result.output
    assert _status_rows(result.stdout) == [[f"{m.version:04d}", m.name, "pending"] for m in shipped]
    assert f"0 applied, {len(shipped)} pending." in result.stdout
    assert not _has_migrations_table(fresh_database)


def test_migrate_applies_each_migration_once_then_status_shows_them_applied(
    cli: Cli, fresh_database: str
) -> None:
    """Each migration is applied and named once; a rerun has nothing to do; status agrees."""
    shipped = bundled_migrations()

    first = cli("db", "migrate", "--database-url", fresh_database)
    second = cli("db", "migrate", "--database-url", fresh_database)
    status = cli("db", "status", "--database-url", fresh_database)

    assert first.exit_code == 0, first.output
    assert first.stdout == "".join(f"Applied {m.version:04d}_{m.name}.\n" for m in shipped)
    assert second.stdout == "Nothing to apply: the database is up to date.\n"
    rows = _status_rows(status.stdout)
    assert [row[:2] for row in rows] == [[f"{m.version:04d}", m.name] for m in shipped]
    assert all(row[2] != "pending" for row in rows)
    assert f"{len(shipped)} applied, 0 pending." in status.stdout


def test_database_url_comes_from_the_environment_when_no_flag_is_given(
    cli: Cli, fresh_database: str
) -> None:
    """USERMGMT_DATABASE_URL alone selects the database."""
    result = cli("db", "migrate", env={"USERMGMT_DATABASE_URL": fresh_database})

    assert result.exit_code == 0
    assert _has_migrations_table(fresh_database)


def test_database_url_flag_wins_over_the_environment(cli: Cli, fresh_database: str) -> None:
    """--database-url overrides USERMGMT_DATABASE_URL."""
    result = cli(
        "db", "migrate", "--database-url", fresh_database,
        env={"USERMGMT_DATABASE_URL": UNREACHABLE},
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert _has_migrations_table(fresh_database)


def test_user_commands_migrate_a_fresh_database_first(cli: Cli, fresh_database: str) -> None:
    """With default settings a data command brings the schema up to date before it runs."""
    result = cli("users", "list", "--database-url", fresh_database)

    assert (result.exit_code, result.stdout) == (0, "No users.\n")
    assert _has_migrations_table(fresh_database)


def test_an_upgrade_that_finds_one_address_twice_exits_1_listing_both(
    cli: Cli, fresh_database: str
) -> None:
    """Two live accounts of the previous release that the email key joins: one line, no change."""
    anyio.run(Migrator(fresh_database, bundled_migrations()[:2]).migrate)
    ids = [uuid.uuid4(), uuid.uuid4()]
    with psycopg.connect(fresh_database) as conn:
        for user_id, email in zip(ids, ["ｃat@example.org", "cat@example.org"], strict=True):
            conn.execute(
                "INSERT INTO users (id, email, password_hash, created_at, updated_at) "
                "VALUES (%s, %s, 'unused', now(), now())",
                (user_id, email),
            )

    result = cli("db", "migrate", "--database-url", fresh_database)

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: migration 0003_email_key refused")
    assert result.stderr.count("\n") == 1
    assert f"{ids[0]} (ｃat@example.org)" in result.stderr
    assert f"{ids[1]} (cat@example.org)" in result.stderr
    assert ["0003", "email_key", "pending"] in _status_rows(
        cli("db", "status", "--database-url", fresh_database).stdout
    )


@pytest.mark.parametrize("command", ["migrate", "status"])
def test_db_commands_on_an_unreachable_database_exit_1_with_one_line(
    cli: Cli, command: str
) -> None:
    """No database answers: exit 1, one line on stderr, no traceback."""
    result = cli("db", command, "--database-url", UNREACHABLE)

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: The database is unavailable")
    assert result.stderr.count("\n") == 1


def test_a_malformed_setting_exits_1_naming_the_variable(cli: Cli) -> None:
    """A bad USERMGMT_* value is a configuration error line, not a crash."""
    result = cli("db", "status", env={"USERMGMT_ARGON2_TIME_COST": "lots"})

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: USERMGMT_ARGON2_TIME_COST='lots' is not valid")
