"""Schema migrations: applied once, in order, safely in parallel, never edited."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import argon2
import attrs
import psycopg
import pytest

from tests.credentials_contract import stored_password
from usermgmt import (
    SYSTEM,
    Email,
    EmailTakenError,
    InvalidCredentialsError,
    InvalidTokenError,
    MigrationError,
    Settings,
    UserManagement,
)
from usermgmt.adapters.postgres import Migrator, migrate
from usermgmt.adapters.postgres.migrate import (
    DATA_STEP_MARKER,
    MigrationFile,
    bundled_migrations,
    read_migrations,
)
from usermgmt.domain.model import UserId, hash_refresh_token

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


# --- upgrading to the email key (0003) -------------------------------------------------------

PASSWORD = "correct horse battery staple"
_CHEAP = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # the tests' settings
_HASH = _CHEAP.hash(PASSWORD)
_BEFORE_THE_KEY = 2  # the last schema version without email_key
# The previous release's INSERT: no email_key, the address stored lowercased.
_OLD_INSERT = """
    INSERT INTO users (id, email, name, role, is_active, password_hash,
                       created_at, updated_at, deleted_at)
    VALUES (%(id)s, %(email)s, %(name)s, 'user', true, %(hash)s,
            %(created_at)s, %(created_at)s, %(deleted_at)s)
"""
_MANY_OLD_USERS = """
    INSERT INTO users (id, email, name, password_hash, created_at, updated_at)
    SELECT gen_random_uuid(), 'user' || n || '@Example.org', 'User ' || n, %(hash)s,
           %(created_at)s + n * interval '1 second', %(created_at)s
    FROM generate_series(1, %(count)s) AS n
"""
_ROWS = """
    SELECT id, email, name, role, is_active, password_hash, created_at, updated_at, deleted_at
    FROM users ORDER BY id
"""
# The same rows once the hash lives in the credentials table (0007).
_ROWS_WITH_CREDENTIALS = """
    SELECT u.id, u.email, u.name, u.role, u.is_active, c.secret, u.created_at, u.updated_at,
           u.deleted_at
    FROM users u LEFT JOIN credentials c ON c.user_id = u.id AND c.kind = 'password'
    ORDER BY u.id
"""
_T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def _previous_release(
    url: str, users: list[tuple[str, bool]], *, bulk: int = 0
) -> dict[str, uuid.UUID]:
    """Migrate *url* to the schema before the key and insert (address, deleted) rows as it would."""
    await Migrator(url, bundled_migrations()[:_BEFORE_THE_KEY]).migrate()
    ids: dict[str, uuid.UUID] = {}
    with psycopg.connect(url) as conn:
        for n, (email, deleted) in enumerate(users):
            user_id = uuid.uuid4()
            created_at = _T0 + timedelta(minutes=n)
            conn.execute(
                _OLD_INSERT,
                {
                    "id": user_id,
                    "email": email,
                    "name": f"Old {n}",
                    "hash": _HASH,
                    "created_at": created_at,
                    "deleted_at": created_at + timedelta(seconds=30) if deleted else None,
                },
            )
            ids[email if not deleted else f"deleted {email} {n}"] = user_id
        if bulk:
            conn.execute(_MANY_OLD_USERS, {"hash": _HASH, "created_at": _T0, "count": bulk})
    return ids


def _snapshot(url: str) -> tuple[list[tuple[Any, ...]], tuple[Any, ...] | None]:
    """Every user with their password hash, wherever the schema keeps it, and the counts."""
    with psycopg.connect(url) as conn:
        moved = conn.execute("SELECT to_regclass('credentials') IS NOT NULL").fetchone()
        rows = _ROWS_WITH_CREDENTIALS if moved == (True,) else _ROWS
        return conn.execute(rows).fetchall(), conn.execute(
            "SELECT total, live FROM user_counts"
        ).fetchone()


def _has_key_column(url: str) -> bool:
    with psycopg.connect(url) as conn:
        found = conn.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'users' AND column_name = 'email_key'"
        ).fetchone()
    return found == (1,)


# The previous release stopped at 0002: an upgrade applies 0003 (the key) and all that follows.
SINCE_KEY = [m.version for m in bundled_migrations() if m.version >= 3]


# Each of these was its own account under lower(); none collides with another.
_DISTINCT = [
    ("ann@example.org", False),
    ("οδυσσεας@example.gr", False),  # how the previous release stored ΟΔΥΣΣΕΑΣ@example.gr
    ("ﬁle@example.org", False),
    ("ｃat@example.org", False),
    ("straße@example.de", False),
    ("strasse@example.de", True),  # deleted ones may share a key with a live user
    ("strasse@example.de", True),  # and with each other
]


async def test_an_upgrade_fills_the_key_and_keeps_every_row(fresh_database: str) -> None:
    """Rows of the previous release survive unchanged, with keys, across several batches."""
    await _previous_release(fresh_database, _DISTINCT, bulk=2500)
    rows_before, counts_before = _snapshot(fresh_database)

    applied = await Migrator(fresh_database).migrate()

    assert [s.version for s in applied] == SINCE_KEY
    assert _snapshot(fresh_database) == (rows_before, counts_before)
    with psycopg.connect(fresh_database) as conn:
        keyed = conn.execute("SELECT email, email_key FROM users").fetchall()
    assert len(keyed) == 2500 + len(_DISTINCT)
    assert all(key == Email(email).key for email, key in keyed)
    assert ("οδυσσεας@example.gr", "οδυσσεασ@example.gr") in keyed
    assert ("user2500@Example.org", "user2500@example.org") in keyed


async def test_after_the_upgrade_every_spelling_signs_in_and_none_registers_again(
    fresh_database: str, settings: Settings
) -> None:
    """Old accounts are found by their key: log in with another spelling, register none twice."""
    ids = await _previous_release(fresh_database, _DISTINCT)
    await Migrator(fresh_database).migrate()

    async with UserManagement.from_url(fresh_database, settings) as um:
        greek = await um.authenticate("ΟΔΥΣΣΕΑΣ@EXAMPLE.GR", PASSWORD)
        ligature = await um.authenticate("FILE@example.org", PASSWORD)
        with pytest.raises(EmailTakenError):
            await um.register_user("οδυσσεασ@example.gr", "another good passphrase")
        with pytest.raises(EmailTakenError):
            await um.register_user("cat@example.org", "another good passphrase")
        deleted = await um.find_user("STRASSE@example.de", actor=SYSTEM, include_deleted=True)

        assert (await um.validate_access_token(greek.access_token)).user.id == ids[
            "οδυσσεας@example.gr"
        ]
        assert (await um.validate_access_token(ligature.access_token)).user.id == ids[
            "ﬁle@example.org"
        ]
        assert deleted.id == ids["straße@example.de"]  # the live holder of the key comes first


_COLLIDING = [
    ("οδυσσεας@example.gr", False),
    ("οδυσσεασ@example.gr", False),
    ("ｃat@example.org", False),
    ("cat@example.org", False),
    ("ﬁle@example.org", False),
    ("ann@example.org", False),
    ("ann@example.org", True),  # a deleted twin of a live user is no collision
]


async def test_live_users_that_become_one_address_are_reported_and_nothing_changes(
    fresh_database: str,
) -> None:
    """Each colliding group is listed with ids and addresses; the schema stays where it was."""
    ids = await _previous_release(fresh_database, _COLLIDING)
    before = _snapshot(fresh_database)

    with pytest.raises(MigrationError) as refused:
        await Migrator(fresh_database).migrate()

    message = str(refused.value)
    assert "2 addresses belong to several live users" in message
    assert (
        f"cat@example.org is {ids['ｃat@example.org']} (ｃat@example.org), "
        f"{ids['cat@example.org']} (cat@example.org)"
    ) in message
    assert (
        f"οδυσσεασ@example.gr is {ids['οδυσσεας@example.gr']} (οδυσσεας@example.gr), "
        f"{ids['οδυσσεασ@example.gr']} (οδυσσεασ@example.gr)"
    ) in message
    assert "ann@example.org" not in message
    assert "ﬁle" not in message
    assert "nothing was changed" in message
    assert "\n" not in message  # one line for the CLI
    assert _snapshot(fresh_database) == before
    assert not _has_key_column(fresh_database)
    states = await Migrator(fresh_database).status()
    assert [s.version for s in states if s.applied_at is None] == SINCE_KEY


async def test_once_the_collisions_are_resolved_the_upgrade_goes_through(
    fresh_database: str, settings: Settings
) -> None:
    """The documented resolution (soft-delete or re-address the extra accounts) unblocks it."""
    ids = await _previous_release(fresh_database, _COLLIDING)
    with pytest.raises(MigrationError):
        await Migrator(fresh_database).migrate()
    with psycopg.connect(fresh_database) as conn:  # the SQL that docs/cli.md gives
        conn.execute(
            "UPDATE users SET deleted_at = now(), updated_at = now() WHERE id = %s",
            (ids["οδυσσεασ@example.gr"],),
        )
        conn.execute(
            "UPDATE users SET email = %s, updated_at = now() WHERE id = %s",
            ("cat.old@example.org", ids["ｃat@example.org"]),
        )

    applied = await Migrator(fresh_database).migrate()

    assert [s.version for s in applied] == SINCE_KEY
    async with UserManagement.from_url(fresh_database, settings) as um:
        tokens = await um.authenticate("ΟΔΥΣΣΕΑΣ@example.gr", PASSWORD)
        principal = await um.validate_access_token(tokens.access_token)
    assert principal.user.id == ids["οδυσσεας@example.gr"]


async def test_parallel_upgrades_fill_the_keys_once(fresh_database: str) -> None:
    """Four processes upgrading one filled database at once: one applies 0003, all succeed."""
    await _previous_release(fresh_database, _DISTINCT, bulk=1500)
    applied: list[int] = []

    async def upgrade() -> None:
        applied.extend(s.version for s in await Migrator(fresh_database).migrate())

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(upgrade)

    assert sorted(applied) == SINCE_KEY  # each once; which process applies which is a race
    with psycopg.connect(fresh_database) as conn:
        assert conn.execute("SELECT count(*) FROM users WHERE email_key IS NULL").fetchone() == (0,)


async def test_migrations_run_on_their_own_url_when_one_is_set(
    fresh_database: str, settings: Settings
) -> None:
    """USERMGMT_MIGRATIONS_DATABASE_URL: migrations reach it while the main URL answers nothing."""
    nowhere = "postgresql://postgres@127.0.0.1:1/none"
    direct = settings.evolve(migrations_database_url=fresh_database)
    async with UserManagement.from_url(nowhere, direct) as um:  # migrates at start
        states = await um.migration_status()

    assert states
    assert all(state.applied_at is not None for state in states)
    assert await Migrator(fresh_database).migrate() == []


# --- upgrading to the credentials table (0007) --------------------------------------------------

_BEFORE_CREDENTIALS = 6  # the previous release: the event outbox, the hash still on users
_OLD_PARAMETERS = argon2.PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
# The previous release's writes: a user with the hash on its row, a session, a refresh token.
_PREVIOUS_USER = """
    INSERT INTO users (id, email, email_key, name, role, is_active, password_hash,
                       created_at, updated_at, deleted_at)
    VALUES (%(id)s, %(email)s, %(email)s, %(name)s, %(role)s, %(is_active)s, %(hash)s,
            %(created_at)s, %(created_at)s, %(deleted_at)s)
"""
_PREVIOUS_SESSION = """
    WITH session AS (
        INSERT INTO sessions (id, user_id, created_at, expires_at)
        VALUES (%(id)s, %(user_id)s, %(created_at)s, %(expires_at)s) RETURNING id
    )
    INSERT INTO refresh_tokens (token_hash, session_id, issued_at)
    SELECT %(token_hash)s, id, %(created_at)s FROM session
"""


@attrs.frozen(kw_only=True)
class _OldAccount:
    email: str
    password: str
    role: str = "user"
    is_active: bool = True
    deleted: bool = False
    outdated: bool = False  # hashed with parameters older than the service's


_OLD_ACCOUNTS = [
    _OldAccount(email="admin@example.org", password="the admin's own passphrase", role="admin"),
    _OldAccount(email="ann@example.org", password="ann's long passphrase"),
    _OldAccount(email="bob@example.org", password="bob's long passphrase", outdated=True),
    _OldAccount(email="idle@example.org", password="an inactive passphrase", is_active=False),
    _OldAccount(email="gone@example.org", password="a deleted passphrase", deleted=True),
]


async def _previous_release_with_sessions(url: str) -> dict[str, tuple[uuid.UUID, str]]:
    """Migrate *url* to 0006 and store accounts, each with a live session, as that release did.

    Returns each address's user id and the refresh token of its session.
    """
    await Migrator(url, bundled_migrations()[:_BEFORE_CREDENTIALS]).migrate()
    now = datetime.now(UTC)
    accounts: dict[str, tuple[uuid.UUID, str]] = {}
    with psycopg.connect(url) as conn:
        for n, account in enumerate(_OLD_ACCOUNTS):
            user_id, refresh_token = uuid.uuid4(), secrets.token_urlsafe(32)
            hasher = _OLD_PARAMETERS if account.outdated else _CHEAP
            created_at = now - timedelta(days=10, minutes=n)
            conn.execute(
                _PREVIOUS_USER,
                {
                    "id": user_id,
                    "email": account.email,
                    "name": f"Old {n}",
                    "role": account.role,
                    "is_active": account.is_active,
                    "hash": hasher.hash(account.password),
                    "created_at": created_at,
                    "deleted_at": now - timedelta(days=1) if account.deleted else None,
                },
            )
            conn.execute(
                _PREVIOUS_SESSION,
                {
                    "id": uuid.uuid4(),
                    "user_id": user_id,
                    "created_at": now - timedelta(hours=1),
                    "expires_at": now + timedelta(days=29),
                    "token_hash": hash_refresh_token(refresh_token),
                },
            )
            accounts[account.email] = (user_id, refresh_token)
    return accounts


async def test_an_upgrade_moves_every_hash_into_credentials_and_drops_the_column(
    fresh_database: str,
) -> None:
    """Each user of the previous release has one password credential holding its old hash."""
    await _previous_release_with_sessions(fresh_database)
    with psycopg.connect(fresh_database) as conn:  # and many more, some deleted
        conn.execute(
            """
            INSERT INTO users (id, email, email_key, name, password_hash, created_at, updated_at,
                               deleted_at)
            SELECT gen_random_uuid(), 'user' || n || '@example.org', 'user' || n || '@example.org',
                   'User ' || n, 'hash ' || n, %(t0)s + n * interval '1 second',
                   %(t0)s + n * interval '2 seconds',
                   CASE WHEN n %% 7 = 0 THEN %(t0)s + n * interval '3 seconds' END
            FROM generate_series(1, 1200) AS n
            """,
            {"t0": _T0},
        )
    rows_before, counts_before = _snapshot(fresh_database)

    applied = await Migrator(fresh_database).migrate()

    assert [s.version for s in applied] == [m.version for m in bundled_migrations()][6:]
    assert _snapshot(fresh_database) == (rows_before, counts_before)
    with psycopg.connect(fresh_database) as conn:
        kinds = conn.execute("SELECT kind, count(*) FROM credentials GROUP BY kind").fetchall()
        times = conn.execute(
            "SELECT count(*) FROM credentials c JOIN users u ON u.id = c.user_id"
            " WHERE (c.created_at, c.updated_at) = (u.created_at, u.updated_at)"
            " AND c.last_used_at IS NULL"
        ).fetchone()
        column = conn.execute(
            "SELECT count(*) FROM information_schema.columns"
            " WHERE table_name = 'users' AND column_name = 'password_hash'"
        ).fetchone()
    assert kinds == [("password", len(rows_before))]
    assert times == (len(rows_before),)
    assert column == (0,)


async def test_after_the_upgrade_every_user_signs_in_and_every_session_refreshes(
    fresh_database: str, settings: Settings
) -> None:
    """Passwords still open the live accounts (and only those), sessions still rotate."""
    accounts = await _previous_release_with_sessions(fresh_database)
    await Migrator(fresh_database).migrate()

    async with UserManagement.from_url(fresh_database, settings) as um:
        for account in _OLD_ACCOUNTS:
            user_id, refresh_token = accounts[account.email]
            if not account.is_active or account.deleted:
                with pytest.raises(InvalidCredentialsError):
                    await um.authenticate(account.email, account.password)
                with pytest.raises(InvalidTokenError):
                    await um.refresh(refresh_token)
                continue
            signed_in = await um.authenticate(account.email, account.password)
            refreshed = await um.refresh(refresh_token)
            for tokens in (signed_in, refreshed):
                principal = await um.validate_access_token(tokens.access_token)
                assert principal.user.id == user_id
            with pytest.raises(InvalidCredentialsError):
                await um.authenticate(account.email, "not " + account.password)


async def test_after_the_upgrade_rehash_and_password_change_write_the_credential(
    fresh_database: str, settings: Settings
) -> None:
    """An outdated hash is upgraded at login; a new password replaces the old one."""
    accounts = await _previous_release_with_sessions(fresh_database)
    await Migrator(fresh_database).migrate()
    bob, _ = accounts["bob@example.org"]
    ann, _ = accounts["ann@example.org"]

    async with UserManagement.from_url(fresh_database, settings) as um:
        moved = await stored_password(um, UserId(bob))
        await um.authenticate("bob@example.org", "bob's long passphrase")
        upgraded = await stored_password(um, UserId(bob))
        await um.change_password(UserId(ann), "ann's brand new passphrase", actor=SYSTEM)
        with pytest.raises(InvalidCredentialsError):
            await um.authenticate("ann@example.org", "ann's long passphrase")
        assert await um.authenticate("ann@example.org", "ann's brand new passphrase")
        changed = await stored_password(um, UserId(ann))

    assert moved.password_hash.startswith("$argon2id$v=19$m=16,t=2,p=1$")
    assert upgraded.password_hash.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert (upgraded.id, upgraded.updated_at) == (moved.id, moved.updated_at)
    assert upgraded.last_used_at is not None
    assert changed.updated_at > changed.created_at


# --- upgrading sessions to their details (last use, address, user agent, methods) -----------

_SESSION_DETAILS = next(m.version for m in bundled_migrations() if m.name == "session_details")
# The previous release's session: no last use, address, user agent or methods.
_OLD_SESSION = """
    WITH session AS (
        INSERT INTO sessions (id, user_id, created_at, expires_at, revoked_at)
        VALUES (%(id)s, %(user_id)s, %(created_at)s, %(expires_at)s, %(revoked_at)s)
        RETURNING id
    )
    INSERT INTO refresh_tokens (token_hash, session_id, issued_at)
    SELECT %(token_hash)s, id, %(created_at)s FROM session
"""


async def test_sessions_of_the_previous_release_upgrade_in_place_and_still_refresh(
    fresh_database: str, settings: Settings
) -> None:
    """Old sessions get an unknown address and agent, ``pwd``, and their start as last use."""
    await Migrator(
        fresh_database, [m for m in bundled_migrations() if m.version < _SESSION_DETAILS]
    ).migrate()
    began = datetime.now(UTC) - timedelta(hours=2)
    live_id, revoked_id = uuid.uuid4(), uuid.uuid4()
    ann = SimpleNamespace(id=uuid.uuid4())
    with psycopg.connect(fresh_database) as conn:
        conn.execute(
            "INSERT INTO users (id, email, email_key, created_at, updated_at)"
            " VALUES (%(id)s, 'ann@example.org', 'ann@example.org', %(at)s, %(at)s)",
            {"id": ann.id, "at": began},
        )
        for session_id, revoked_at in ((live_id, None), (revoked_id, began)):
            conn.execute(
                _OLD_SESSION,
                {
                    "id": session_id,
                    "user_id": ann.id,
                    "created_at": began,
                    "expires_at": began + timedelta(days=30),
                    "revoked_at": revoked_at,
                    "token_hash": hash_refresh_token(f"old token {session_id}"),
                },
            )

    applied = await Migrator(fresh_database).migrate()

    assert [s.version for s in applied] == [
        m.version for m in bundled_migrations() if m.version >= _SESSION_DETAILS
    ]
    with psycopg.connect(fresh_database) as conn:
        rows = conn.execute(
            "SELECT id, last_used_at, ip, user_agent, amr FROM sessions "
            "ORDER BY revoked_at NULLS FIRST"
        ).fetchall()
    assert rows == [
        (live_id, began, None, None, ["pwd"]),
        (revoked_id, began, None, None, ["pwd"]),
    ]
    async with UserManagement.from_url(fresh_database, settings) as um:
        (listed,) = await um.list_sessions(ann.id, actor=SYSTEM)
        assert (listed.id, listed.last_used_at, listed.ip, listed.amr) == (
            live_id,
            began,
            None,
            ("pwd",),
        )
        await um.refresh(f"old token {live_id}")
        (used,) = await um.list_sessions(ann.id, actor=SYSTEM)
    assert used.last_used_at > began


# --- upgrading users to email verification (0012) ------------------------------------------

_EMAIL_VERIFICATION = next(
    m.version for m in bundled_migrations() if m.name == "email_verification"
)


async def test_users_of_the_previous_release_count_as_verified_and_new_ones_do_not(
    fresh_database: str, settings: Settings
) -> None:
    """An upgrade locks nobody out under ``required``; a registration after it is unverified."""
    await Migrator(
        fresh_database, [m for m in bundled_migrations() if m.version < _EMAIL_VERIFICATION]
    ).migrate()
    old_id = uuid.uuid4()
    with psycopg.connect(fresh_database) as conn:
        conn.execute(
            "INSERT INTO users (id, email, email_key, created_at, updated_at)"
            " VALUES (%(id)s, 'old@example.org', 'old@example.org', %(at)s, %(at)s)",
            {"id": old_id, "at": _T0},
        )

    await Migrator(fresh_database).migrate()

    async with UserManagement.from_url(fresh_database, settings) as um:
        old = await um.get_user(UserId(old_id), actor=SYSTEM)
        new = await um.register_user("new@example.org", PASSWORD)
        new = await um.get_user(new.id, actor=SYSTEM)
    assert (old.email_verified, old.pending_email) == (True, None)
    assert (new.email_verified, new.pending_email) == (False, None)
