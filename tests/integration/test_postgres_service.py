"""The service on PostgreSQL: races settled by the database, upgrades, outages."""

from __future__ import annotations

import contextlib
import time

import anyio
import psycopg
import pytest

from tests.credentials_contract import stored_password
from usermgmt import (
    SYSTEM,
    EmailTakenError,
    InvalidCursorError,
    InvalidTokenError,
    LastAdminError,
    Role,
    SchemaOutdatedError,
    Settings,
    UnavailableError,
    UserManagement,
)

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery"


async def test_parallel_registrations_of_one_email_yield_one_account(
    service: UserManagement,
) -> None:
    """50 registrations of one address in mixed case at once: exactly one succeeds."""
    results: list[str] = []

    async def register(n: int) -> None:
        email = "".join(c.upper() if (n >> i) & 1 else c for i, c in enumerate("race@example.org"))
        try:
            await service.register_user(email, PASSWORD)
            results.append("created")
        except EmailTakenError:
            results.append("taken")

    async with anyio.create_task_group() as tg:
        for n in range(50):
            tg.start_soon(register, n)

    assert sorted(results) == ["created"] + ["taken"] * 49
    assert (await service.list_users(actor=SYSTEM)).total == 1


async def test_parallel_refreshes_of_one_token_succeed_at_most_once(
    service: UserManagement,
) -> None:
    """Ten refreshes of one token at once: one new pair, the rest refused, the session alive."""
    await service.register_user("ann@example.org", PASSWORD)
    tokens = await service.authenticate("ann@example.org", PASSWORD)
    winners: list[str] = []

    async def refresh() -> None:
        with contextlib.suppress(InvalidTokenError):
            winners.append((await service.refresh(tokens.refresh_token)).refresh_token)

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(refresh)

    assert len(winners) == 1
    assert await service.refresh(winners[0])  # within the grace window: the session lives


async def test_admins_deleting_each_other_at_once_leave_one(service: UserManagement) -> None:
    """Two concurrent deletions of the two last admins: one succeeds, one is refused."""
    first = await service.register_user("a@example.org", PASSWORD, role=Role.ADMIN, actor=SYSTEM)
    second = await service.register_user("b@example.org", PASSWORD, role=Role.ADMIN, actor=SYSTEM)
    outcomes: list[str] = []

    async def delete(user_id: object) -> None:
        try:
            await service.delete_user(user_id, actor=SYSTEM)  # type: ignore[arg-type]  # a UserId
            outcomes.append("deleted")
        except LastAdminError:
            outcomes.append("refused")

    async with anyio.create_task_group() as tg:
        tg.start_soon(delete, first.id)
        tg.start_soon(delete, second.id)

    assert sorted(outcomes) == ["deleted", "refused"]


async def test_a_weaker_hash_is_upgraded_at_login(empty_database: str, settings: Settings) -> None:
    """After the argon2 parameters are raised, the next login rewrites the stored hash."""
    async with UserManagement.from_url(empty_database, settings) as old:
        user = await old.register_user("ann@example.org", PASSWORD)
        registered = await stored_password(old, user.id)
    stronger = settings.evolve(argon2_time_cost=2, argon2_memory_cost=16)

    async with UserManagement.from_url(empty_database, stronger) as new:
        await new.authenticate("ann@example.org", PASSWORD)
        stored = await stored_password(new, user.id)

    assert registered.password_hash.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert stored.password_hash.startswith("$argon2id$v=19$m=16,t=2,p=1$")


async def test_revocation_reaches_another_instance_at_once(
    empty_database: str, settings: Settings
) -> None:
    """A logout on one instance is refused by another that shares the database, immediately."""
    async with (
        UserManagement.from_url(empty_database, settings) as here,
        UserManagement.from_url(empty_database, settings) as there,
    ):
        await here.register_user("ann@example.org", PASSWORD)
        tokens = await here.authenticate("ann@example.org", PASSWORD)
        assert await there.validate_access_token(tokens.access_token)

        await here.logout(await here.validate_access_token(tokens.access_token))

        with pytest.raises(InvalidTokenError):
            await there.validate_access_token(tokens.access_token)


async def test_an_unreachable_database_is_reported_quickly(settings: Settings) -> None:
    """With nothing listening, calls fail as UnavailableError within seconds; health says no."""
    nowhere = "postgresql://postgres@127.0.0.1:1/none"
    async with UserManagement.from_url(nowhere, settings.evolve(migrate_on_start=False)) as um:
        started = time.monotonic()
        with pytest.raises(UnavailableError):
            await um.register_user("ann@example.org", PASSWORD)
        healthy = await um.check_health()
        elapsed = time.monotonic() - started

    assert not healthy
    assert elapsed < 8


async def test_an_unmigrated_database_is_reported_not_crashed(
    fresh_database: str, settings: Settings
) -> None:
    """With start-up migrations off, a missing schema is a SchemaOutdatedError, not a crash."""
    async with UserManagement.from_url(
        fresh_database, settings.evolve(migrate_on_start=False)
    ) as um:
        with pytest.raises(SchemaOutdatedError, match="usermgmt db migrate"):
            await um.register_user("ann@example.org", PASSWORD)


async def test_counts_stay_true_under_bulk_sql(
    service: UserManagement, empty_database: str
) -> None:
    """Rows inserted and deleted by plain SQL keep the trigger-maintained counts right."""
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO users (id, email, email_key, created_at, updated_at)
            SELECT gen_random_uuid(), 'bulk' || n || '@example.org', 'bulk' || n || '@example.org',
                   now(), now()
            FROM generate_series(1, 1000) AS n
            """
        )
        conn.execute("UPDATE users SET deleted_at = now() WHERE email LIKE 'bulk1%'")
        conn.execute("DELETE FROM users WHERE email LIKE 'bulk2%'")
        live, total = conn.execute(
            "SELECT count(*) FILTER (WHERE deleted_at IS NULL), count(*) FROM users"
        ).fetchone() or (0, 0)

    page = await service.list_users(actor=SYSTEM)
    everyone = await service.list_users(actor=SYSTEM, include_deleted=True)

    assert (page.total, everyone.total) == (live, total)


async def test_instances_on_one_database_share_the_cursor_key(
    service: UserManagement, empty_database: str, settings: Settings
) -> None:
    """A cursor handed out by one instance resumes the walk on another; an altered one fails."""
    for n in range(3):
        await service.register_user(f"walker{n}@example.org", PASSWORD)
    first = await service.list_users_after(actor=SYSTEM, per_page=1)
    assert first.next_cursor is not None

    async with UserManagement.from_url(empty_database, settings) as other:
        second = await other.list_users_after(actor=SYSTEM, cursor=first.next_cursor, per_page=1)
        flipped = "B" if first.next_cursor[-5] == "A" else "A"
        altered = first.next_cursor[:-5] + flipped + first.next_cursor[-4:]
        with pytest.raises(InvalidCursorError):
            await other.list_users_after(actor=SYSTEM, cursor=altered, per_page=1)

    assert [u.email.value for u in (*first.items, *second.items)] == [
        "walker0@example.org",
        "walker1@example.org",
    ]
