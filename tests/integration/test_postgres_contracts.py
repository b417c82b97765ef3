"""The storage contracts, on PostgreSQL (and Redis for the login counters)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from tests.contracts import (
    DeviceTokenStoreContract,
    LoginAttemptStoreContract,
    SessionStoreContract,
    UserRepositoryContract,
)
from usermgmt.adapters.postgres import PostgresDatabase, PostgresLoginAttemptStore
from usermgmt.adapters.redis import RedisLoginAttemptStore
from usermgmt.ports import LoginAttemptStore, UnitOfWork

pytestmark = pytest.mark.anyio

REDIS_URL = "redis://127.0.0.1:6379/15"


class TestPostgresUsers(UserRepositoryContract):
    @pytest.fixture
    def uow(self, database: PostgresDatabase) -> UnitOfWork:
        return database.uow


class TestPostgresSessions(SessionStoreContract):
    @pytest.fixture
    def uow(self, database: PostgresDatabase) -> UnitOfWork:
        return database.uow


class TestPostgresDeviceTokens(DeviceTokenStoreContract):
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
        client = Redis.from_url(REDIS_URL)
        try:
            await client.ping()
        except (RedisError, OSError) as exc:
            await client.aclose()
            pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
        await client.aclose()
        store = RedisLoginAttemptStore.from_url(REDIS_URL)
        try:
            yield store
        finally:
            await store.aclose()
