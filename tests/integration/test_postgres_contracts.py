"""The storage contracts, on PostgreSQL (and Redis for the login counters)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from tests.audit_contract import ANN, AuditLogContract, revoked
from tests.contracts import (
    NOW,
    DeviceTokenStoreContract,
    LoginAttemptStoreContract,
    SessionStoreContract,
    UserRepositoryContract,
    make_user,
)
from tests.credentials_contract import CredentialStoreContract, add_user_with_password
from tests.dispatch_contract import DispatcherContract, Recorder
from tests.mail_delivery_contract import MailDeliveryContract
from tests.onetime_contract import OneTimeTokenStoreContract
from tests.outbox_contract import LEASE, Outbox, OutboxContract, event
from tests.passkeys_contract import CeremonyStoreContract, PasskeyStoreContract
from tests.redis_keys import REDIS_URL, confined_keys
from usermgmt import ManualClock
from usermgmt.adapters.postgres import (
    PostgresDatabase,
    PostgresLoginAttemptStore,
    PostgresOutboxStore,
)
from usermgmt.adapters.postgres.database import PostgresRepositories
from usermgmt.adapters.redis import RedisLoginAttemptStore
from usermgmt.domain.events import Event
from usermgmt.ports import LoginAttemptStore, UnitOfWork

pytestmark = pytest.mark.anyio


class TestPostgresUsers(UserRepositoryContract):
    @pytest.fixture
    def uow(self, database: PostgresDatabase) -> UnitOfWork:
        return database.uow


class TestPostgresCredentials(CredentialStoreContract):
    @pytest.fixture
    def uow(self, database: PostgresDatabase) -> UnitOfWork:
        return database.uow

    async def test_a_login_reads_the_user_and_the_password_in_one_statement(
        self, uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """One round trip before the hash check, as when the hash was a column of users."""
        user = make_user()
        credential = await add_user_with_password(uow, user)
        sent: list[object] = []
        execute = psycopg.AsyncCursor.execute

        async def counted(
            cursor: psycopg.AsyncCursor[Any], query: Any, *args: Any, **kw: Any
        ) -> Any:
            sent.append(query)
            return await execute(cursor, query, *args, **kw)

        monkeypatch.setattr(psycopg.AsyncCursor, "execute", counted)
        async with uow.standalone() as repos:
            found = await repos.credentials.for_login(user.email)

        assert found == (user, credential)
        assert len(sent) == 1


class TestPostgresSessions(SessionStoreContract):
    @pytest.fixture
    def uow(self, database: PostgresDatabase) -> UnitOfWork:
        return database.uow


class TestPostgresDeviceTokens(DeviceTokenStoreContract):
    @pytest.fixture
    def uow(self, database: PostgresDatabase) -> UnitOfWork:
        return database.uow


class TestPostgresOneTimeTokens(OneTimeTokenStoreContract):
    @pytest.fixture
    def uow(self, database: PostgresDatabase) -> UnitOfWork:
        return database.uow


class TestPostgresLoginAttempts(LoginAttemptStoreContract):
    @pytest.fixture
    def attempts(self, database: PostgresDatabase) -> LoginAttemptStore:
        return PostgresLoginAttemptStore(database.pool)


class TestRedisLoginAttempts(LoginAttemptStoreContract):
    @pytest.fixture
    async def attempts(self) -> AsyncIterator[LoginAttemptStore]:
        with confined_keys() as prefix:
            store = RedisLoginAttemptStore.from_url(REDIS_URL, key_prefix=prefix)
            try:
                yield store
            finally:
                await store.aclose()


class TestPostgresOutbox(OutboxContract):
    @pytest.fixture
    def outbox(self, database: PostgresDatabase) -> Outbox:
        return Outbox(database.uow, PostgresOutboxStore(database.pool))

    async def test_an_event_of_an_unknown_type_is_claimed_without_its_value(
        self, outbox: Outbox, database: PostgresDatabase
    ) -> None:
        """A row stored by a newer version comes out with its type name and no event."""
        async with database.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO event_outbox (type, payload, created_at, available_at)"
                " VALUES ('FromTheFuture', '{}', %(now)s, %(now)s)",
                {"now": NOW},
            )

        (pending,) = await outbox.store.claim(NOW, limit=10, lease=LEASE)

        assert (pending.type_name, pending.event, pending.attempts) == ("FromTheFuture", None, 1)


class TestPostgresDispatcher(DispatcherContract):
    @pytest.fixture
    def outbox(self, database: PostgresDatabase) -> Outbox:
        return Outbox(database.uow, PostgresOutboxStore(database.pool))

    async def test_an_event_of_an_unknown_type_waits_for_a_version_that_knows_it(
        self, outbox: Outbox, clock: ManualClock, database: PostgresDatabase
    ) -> None:
        """A newer version's event is not settled by an older dispatcher: it is retried."""
        async with database.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO event_outbox (type, payload, created_at, available_at)"
                " VALUES ('FromTheFuture', '{}', %(now)s, %(now)s)",
                {"now": NOW},
            )
        dispatch = self.dispatcher(outbox, clock)
        recorder = Recorder()
        dispatch.subscribe(Event, recorder)

        delivered = await dispatch()

        assert (delivered, recorder.deliveries) == (0, [])
        clock.advance(timedelta(seconds=1))
        (pending,) = await outbox.store.claim(clock.now(), limit=10, lease=LEASE)
        assert (pending.type_name, pending.attempts) == ("FromTheFuture", 2)
        async with database.pool.connection() as conn:
            cur = await conn.execute("SELECT last_error FROM event_outbox")
            assert await cur.fetchone() == ("LookupError: unknown event type 'FromTheFuture'",)


async def test_an_event_stored_alone_does_not_wait_for_the_disk_and_leaves_no_trace(
    database: PostgresDatabase,
) -> None:
    """The failure path commits asynchronously, for its own statement only."""
    async with database.pool.connection() as conn:
        before = await (await conn.execute("SHOW synchronous_commit")).fetchone()
        await PostgresRepositories.on(conn, alone=True).outbox.add(event(1))
        after = await (await conn.execute("SHOW synchronous_commit")).fetchone()
    (pending,) = await PostgresOutboxStore(database.pool).claim(NOW, limit=10, lease=LEASE)

    assert before == after == ("on",)
    assert pending.event == event(1)


class TestPostgresMailDelivery(MailDeliveryContract):
    @pytest.fixture
    def outbox(self, database: PostgresDatabase) -> Outbox:
        return Outbox(database.uow, PostgresOutboxStore(database.pool))


class TestPostgresAuditLog(AuditLogContract):
    @pytest.fixture
    def uow(self, database: PostgresDatabase) -> UnitOfWork:
        return database.uow

    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE audit_events SET type = 'nothing_happened'",
            "UPDATE audit_events SET details = '{}'::jsonb, ip = NULL",
            "DELETE FROM audit_events",
        ],
    )
    async def test_the_trigger_refuses_to_change_or_delete_a_row(
        self, uow: UnitOfWork, database: PostgresDatabase, statement: str
    ) -> None:
        """Nobody with a connection rewrites history: UPDATE and DELETE fail, rows stay."""
        await self.add(uow, revoked(ANN, 0))
        rows = await self.rows(uow)

        async with database.pool.connection() as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                await conn.execute(statement)  # type: ignore[arg-type]  # a literal of the test

        assert await self.rows(uow) == rows

    async def test_the_purge_flag_lasts_only_for_its_transaction(
        self, uow: UnitOfWork, database: PostgresDatabase
    ) -> None:
        """After a purge, the same connection (or the pooler's next client) cannot delete."""
        await self.add(uow, revoked(ANN, 0), revoked(ANN, 10))
        async with database.pool.connection() as conn:
            async with conn.transaction():
                await conn.execute("SET LOCAL usermgmt.audit_purge = 'on'")
                await conn.execute(
                    "DELETE FROM audit_events WHERE at < %s", [NOW + timedelta(seconds=5)]
                )
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                await conn.execute("DELETE FROM audit_events")
        async with uow() as tx:
            await tx.audit.purge(NOW - timedelta(days=1))
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                async with database.pool.connection() as other:
                    await other.execute("DELETE FROM audit_events")

        assert [r.at for r in await self.rows(uow)] == [NOW + timedelta(seconds=10)]


class TestPostgresPasskeys(PasskeyStoreContract):
    @pytest.fixture
    def uow(self, database: PostgresDatabase) -> UnitOfWork:
        return database.uow


class TestPostgresCeremonies(CeremonyStoreContract):
    @pytest.fixture
    def uow(self, database: PostgresDatabase) -> UnitOfWork:
        return database.uow
