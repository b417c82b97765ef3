"""The parts a service is built from, and the factories that make them from settings.

Only this package names adapters. A :class:`Parts` record holds every port
the use cases need and what the service must open and close; the factories
build one on PostgreSQL or in memory. The token codec (``codec``) and the
mailer (``mail``) are built in modules of their own, on first use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import argon2
import attrs

from usermgmt._service.codec import LazyCodec
from usermgmt._service.mail import LazyMail
from usermgmt.adapters.clock import RandomIdGenerator, SystemClock
from usermgmt.adapters.passwords import Argon2PasswordHasher
from usermgmt.adapters.postgres import (
    PostgresDatabase,
    PostgresLoginAttemptStore,
    PostgresOutboxStore,
    PostgresServiceSecrets,
)
from usermgmt.domain.errors import ConfigurationError
from usermgmt.ports import (
    Clock,
    IdGenerator,
    LoginAttemptStore,
    OutboxStore,
    PasswordHasher,
    ServiceSecrets,
    UnitOfWork,
)
from usermgmt.ports.mail import Mailer
from usermgmt.settings import Settings

if TYPE_CHECKING:
    from litestar.stores.base import Store

    from usermgmt.adapters.redis import RedisLoginAttemptStore  # an optional dependency

Closer = Callable[[], Awaitable[object]]


@attrs.frozen(kw_only=True)
class Parts:
    """What a service is built from: its settings, its ports, and what it opens and closes."""

    settings: Settings
    uow: UnitOfWork
    outbox: OutboxStore
    """The dispatcher's side of the outbox that *uow* records events in."""
    attempts: LoginAttemptStore
    secrets: ServiceSecrets
    hasher: PasswordHasher
    codec: LazyCodec
    mail: LazyMail
    """The mailer and the templates, built on first use."""
    clock: Clock
    ids: IdGenerator
    database: PostgresDatabase | None = None
    """The PostgreSQL pool, or ``None`` in memory."""
    resources: tuple[object, ...] = ()
    """Kept alive as long as the service (the embedded server, say)."""
    closers: tuple[Closer, ...] = ()
    """Called when the service closes, last first."""


def in_memory_parts(
    settings: Settings,
    *,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    mailer: Mailer | None = None,
) -> Parts:
    """Return parts on in-memory storage; without a configured secret, a random one signs."""
    from usermgmt.adapters.memory import (  # noqa: PLC0415 - a PostgreSQL service never loads them
        InMemoryDatabase,
        InMemoryLoginAttemptStore,
        InMemoryOutboxStore,
        InMemoryServiceSecrets,
        InMemoryUnitOfWork,
    )

    if not (settings.jwt_secret or settings.jwt_private_key):
        settings = settings.evolve(jwt_secret=RandomIdGenerator().new_secret())
    clock = clock or SystemClock()
    db = InMemoryDatabase()
    hasher, closers = _own_hasher(settings, hasher)
    return Parts(
        settings=settings,
        uow=InMemoryUnitOfWork(db),
        outbox=InMemoryOutboxStore(db.outbox),
        attempts=InMemoryLoginAttemptStore(db),
        secrets=InMemoryServiceSecrets(),
        hasher=hasher,
        codec=LazyCodec(settings, clock),
        mail=LazyMail(settings, mailer),
        clock=clock,
        ids=RandomIdGenerator(),
        closers=closers,
    )


def postgres_parts(
    url: str,
    settings: Settings,
    *,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    mailer: Mailer | None = None,
    resources: tuple[object, ...] = (),
) -> Parts:
    """Return parts on the PostgreSQL database at *url* (and Redis, if the settings name it)."""
    clock = clock or SystemClock()
    database = PostgresDatabase(url, max_size=settings.database_pool_size)
    attempts: LoginAttemptStore = PostgresLoginAttemptStore(database.pool)
    hasher, closers = _own_hasher(settings, hasher)
    if settings.redis_url:
        redis_store = redis_attempts(settings.redis_url, settings.redis_key_prefix)
        attempts, closers = redis_store, (*closers, redis_store.aclose)
    return Parts(
        settings=settings,
        uow=database.uow,
        outbox=PostgresOutboxStore(database.pool),
        attempts=attempts,
        secrets=PostgresServiceSecrets(database.pool),
        hasher=hasher,
        codec=LazyCodec(settings, clock),
        mail=LazyMail(settings, mailer),
        clock=clock,
        ids=RandomIdGenerator(),
        database=database,
        resources=resources,
        closers=closers,
    )


def _own_hasher(
    settings: Settings, given: PasswordHasher | None
) -> tuple[PasswordHasher, tuple[Closer, ...]]:
    """Return *given*, or an argon2 hasher of our own with its closer (its thread pool)."""
    if given is not None:
        return given, ()
    own = argon2_hasher(settings)
    return own, (own.aclose,)


def argon2_hasher(settings: Settings) -> Argon2PasswordHasher:
    """Return the argon2id hasher with the settings' parameters."""
    return Argon2PasswordHasher(
        argon2.PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost,
            parallelism=settings.argon2_parallelism,
        ),
        max_concurrency=settings.hash_concurrency,
    )


# --- optional Redis -----------------------------------------------------------------------

_NO_REDIS = "USERMGMT_REDIS_URL is set but the redis client is missing: install usermgmt[redis]"


def redis_attempts(url: str, key_prefix: str = "") -> RedisLoginAttemptStore:
    """Return the Redis login-attempt store at *url*, its keys preceded by *key_prefix*.

    Raises:
        ConfigurationError: the redis client is not installed.
    """
    try:
        from usermgmt.adapters.redis import (  # noqa: PLC0415 - optional
            KEY_PREFIX,
            RedisLoginAttemptStore,
        )
    except ImportError:
        raise ConfigurationError(_NO_REDIS) from None
    return RedisLoginAttemptStore.from_url(url, key_prefix=key_prefix + KEY_PREFIX)


def redis_store(url: str, namespace: str, key_prefix: str = "") -> Store:
    """Return Litestar's Redis store at *url* under *namespace*, preceded by *key_prefix*.

    Raises:
        ConfigurationError: the redis client is not installed.
    """
    try:
        from litestar.stores.redis import RedisStore  # noqa: PLC0415 - needs the optional client
    except ImportError:
        raise ConfigurationError(_NO_REDIS) from None
    return RedisStore.with_client(url, namespace=key_prefix + namespace)


def shared_store(parts: Parts, namespace: str) -> Store:
    """Return the key-value store shared by every instance (see ``UserManagement.shared_store``).

    Raises:
        ConfigurationError: Redis is configured but its client is not installed.
    """
    from litestar.stores.memory import MemoryStore  # noqa: PLC0415 - only the HTTP face needs it

    from usermgmt.adapters.postgres.store import PostgresStore  # noqa: PLC0415 - likewise

    if parts.database is None:
        return MemoryStore()
    if parts.settings.redis_url:
        return redis_store(parts.settings.redis_url, namespace, parts.settings.redis_key_prefix)
    return PostgresStore(parts.database.pool, namespace=namespace)
