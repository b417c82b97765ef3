"""The composition root: builds the use cases on concrete adapters.

Only this module names adapters. ``UserManagement`` is the whole public
service: every use case as an awaitable method, and ``blocking()`` for
synchronous programs.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Self, TypeVar

import anyio.from_thread
import argon2
import attrs
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from usermgmt.adapters.blocklist import common_passwords
from usermgmt.adapters.clock import RandomIdGenerator, SystemClock
from usermgmt.adapters.embedded import start_embedded
from usermgmt.adapters.keys import development_secret
from usermgmt.adapters.memory import (
    InMemoryDatabase,
    InMemoryLoginAttemptStore,
    InMemoryServiceSecrets,
    InMemoryUnitOfWork,
)
from usermgmt.adapters.passwords import Argon2PasswordHasher
from usermgmt.adapters.postgres import (
    MigrationState,
    Migrator,
    PostgresDatabase,
    PostgresLoginAttemptStore,
    PostgresServiceSecrets,
)
from usermgmt.adapters.tokens import JwtTokenCodec
from usermgmt.domain.errors import ConfigurationError
from usermgmt.domain.model import (
    AccessClaims,
    Actor,
    Principal,
    Role,
    TokenPair,
    User,
    UserId,
    UserPage,
    UserSlice,
)
from usermgmt.domain.rules.passwords import PasswordPolicy
from usermgmt.domain.rules.sessions import SessionPolicy
from usermgmt.domain.rules.throttle import LoginThrottlePolicy
from usermgmt.ports import (
    Clock,
    IdGenerator,
    LoginAttemptStore,
    PasswordHasher,
    ServiceSecrets,
    UnitOfWork,
)
from usermgmt.settings import Settings
from usermgmt.usecases._steps import PasswordChange, StartSession, TokenIssuer
from usermgmt.usecases.accounts import (
    ChangePassword,
    DeleteUser,
    FindUser,
    GetUser,
    RegisterUser,
    RestoreUser,
    UpdateUser,
    UserChanges,
)
from usermgmt.usecases.listing import ListUsers
from usermgmt.usecases.sessions import (
    Authenticate,
    Logout,
    RefreshSession,
    RevokeSessions,
    ValidateAccessToken,
)

if TYPE_CHECKING:
    from litestar.stores.base import Store

    from usermgmt.adapters.redis import RedisLoginAttemptStore  # an optional dependency

P = ParamSpec("P")
T = TypeVar("T")

_PURGE_AFTER = timedelta(days=1)
"""Ended sessions, expired device tokens and stale throttle counters are kept this long."""


_MAX_KEY_BYTES = 64 * 1024
"""An Ed25519 PEM key is about 120 bytes; a file much larger is not one (or is /dev/zero)."""


def _signing_key(path: Path, **options: Any) -> JwtTokenCodec:  # noqa: ANN401 - the codec's options
    """Load the Ed25519 key at *path*, or say in one line what is wrong with it.

    Raises:
        ConfigurationError: the file is unreadable, encrypted, not a PEM private
            key, or not an Ed25519 key.
    """
    prefix = f"USERMGMT_JWT_PRIVATE_KEY={path}"
    try:
        with path.open("rb") as file:
            pem = file.read(_MAX_KEY_BYTES + 1)
    except OSError as exc:
        raise ConfigurationError(f"{prefix}: cannot be read: {exc.strerror or exc}") from None
    if len(pem) > _MAX_KEY_BYTES:
        raise ConfigurationError(f"{prefix}: is larger than 64 KiB, not a PEM key")
    try:
        return JwtTokenCodec.eddsa(pem, **options)
    except TypeError:  # cryptography's way of saying that a passphrase is needed
        msg = f"{prefix}: the key is encrypted; give an unencrypted Ed25519 PEM key"
    except UnsupportedAlgorithm:
        msg = f"{prefix}: the key's algorithm is not supported; give an Ed25519 PEM key"
    except ValueError:  # cryptography's own message carries a link and a parser trace
        kind = (
            "a private key, but not an Ed25519 one"
            if _is_private_key(pem)
            else "not a PEM private key"
        )
        msg = f"{prefix}: {kind}; give an unencrypted Ed25519 private key in PEM"
    raise ConfigurationError(msg)


def _is_private_key(pem: bytes) -> bool:
    try:
        serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _codec(settings: Settings, clock: Clock) -> JwtTokenCodec:
    settings.check()
    options = {"issuer": settings.jwt_issuer, "audience": settings.jwt_audience, "clock": clock}
    if settings.jwt_private_key is not None:
        return _signing_key(settings.jwt_private_key, **options)
    if settings.jwt_secret:
        return JwtTokenCodec.hs256(settings.jwt_secret.encode("utf-8"), **options)
    return JwtTokenCodec.hs256(development_secret(settings.data_dir), **options)


class _LazyCodec:
    """The token codec, built on first use.

    Commands that never sign or check a token (migrations, user administration)
    then need no signing key, and a development secret is generated only by
    the processes that use it.
    """

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        self._codec: JwtTokenCodec | None = None

    def resolve(self) -> JwtTokenCodec:
        """Return the codec, building it now if need be.

        Raises:
            ConfigurationError: the signing key is missing, unreadable or unsafe.
        """
        if self._codec is None:
            self._codec = _codec(self._settings, self._clock)
        return self._codec

    def encode(self, claims: AccessClaims) -> str:
        """Sign *claims* (see ``TokenCodec.encode``)."""
        return self.resolve().encode(claims)

    def decode(self, token: str) -> AccessClaims:
        """Check *token* (see ``TokenCodec.decode``)."""
        return self.resolve().decode(token)


def _hasher(settings: Settings) -> Argon2PasswordHasher:
    return Argon2PasswordHasher(
        argon2.PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost,
            parallelism=settings.argon2_parallelism,
        )
    )


class UserManagement:
    """The usermgmt service: build it, open it, call its use cases.

    Build it with :meth:`from_url`, :meth:`embedded`, :meth:`in_memory` or
    :meth:`from_settings`; use it as an async context manager (or
    :meth:`blocking` from synchronous code) so that its connections are opened
    and closed.
    """

    def __init__(  # noqa: PLR0913 - the composition root wires every port
        self,
        *,
        settings: Settings,
        uow: UnitOfWork,
        attempts: LoginAttemptStore,
        secrets: ServiceSecrets,
        hasher: PasswordHasher,
        codec: _LazyCodec,
        clock: Clock,
        ids: IdGenerator,
        database: PostgresDatabase | None = None,
        resources: tuple[object, ...] = (),
        closers: tuple[Callable[[], Awaitable[object]], ...] = (),
    ) -> None:
        """Wire the use cases; prefer the named constructors."""
        self.settings = settings
        self._database = database
        self._attempts = attempts
        self._codec = codec
        self._clock = clock
        self._resources = resources  # e.g. the embedded server: alive as long as we are
        self._closers = closers
        self._exit = AsyncExitStack()
        sessions = SessionPolicy(
            access_token_ttl=timedelta(seconds=settings.access_token_ttl),
            refresh_token_ttl=timedelta(seconds=settings.refresh_token_ttl),
            reuse_grace=timedelta(seconds=settings.refresh_reuse_grace),
        )
        throttle = LoginThrottlePolicy(
            per_client=settings.login_max_failures,
            per_account=settings.login_max_failures_per_account,
        )
        self._forget_after = throttle.forget_after
        passwords = PasswordPolicy(
            min_length=settings.password_min_length,
            common=common_passwords(settings.password_min_length),
        )
        issuer = TokenIssuer(codec=codec, ids=ids, policy=sessions)
        start_session = StartSession(uow=uow, issuer=issuer, policy=sessions, clock=clock, ids=ids)
        password_change = PasswordChange(hasher=hasher, policy=passwords, attempts=attempts)
        self._register = RegisterUser(
            uow=uow, hasher=hasher, policy=passwords, clock=clock, ids=ids
        )
        self._authenticate = Authenticate(
            uow=uow,
            attempts=attempts,
            hasher=hasher,
            throttle=throttle,
            start_session=start_session,
            clock=clock,
        )
        self._refresh = RefreshSession(uow=uow, issuer=issuer, policy=sessions, clock=clock)
        self._validate = ValidateAccessToken(uow=uow, codec=codec, clock=clock)
        self._logout = Logout(uow=uow, clock=clock)
        self._get = GetUser(uow=uow)
        self._find = FindUser(uow=uow)
        self._list = ListUsers(uow=uow, secrets=secrets)
        self._update = UpdateUser(uow=uow, passwords=password_change, clock=clock)
        self._change_password = ChangePassword(update=self._update)
        self._delete = DeleteUser(uow=uow, clock=clock)
        self._restore = RestoreUser(uow=uow, clock=clock)
        self._revoke = RevokeSessions(uow=uow, clock=clock)
        self._uow = uow

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def from_url(
        cls,
        url: str,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        hasher: PasswordHasher | None = None,
    ) -> Self:
        """Build the service on the PostgreSQL database at *url*.

        Args:
            url: a libpq connection URL, ``postgresql://user@host:5432/db``.
            settings: everything else (default: built-in defaults, not the environment).
            clock: the time source (default: the system clock).
            hasher: the password hasher (default: argon2id with the settings' parameters).
        """
        settings = (settings or Settings()).evolve(database_url=url)
        return cls._on_postgres(url, settings, clock=clock, hasher=hasher)

    @classmethod
    def embedded(cls, settings: Settings | None = None) -> Self:
        """Build the service on the embedded PostgreSQL server, starting it if needed.

        Its data lives in ``settings.data_dir`` (the user data directory by
        default) and survives restarts.

        Raises:
            ConfigurationError: the ``embedded`` extra is not installed.
        """
        settings = settings or Settings()
        server, url = start_embedded(settings.data_dir)
        return cls._on_postgres(url, settings.evolve(database_url=url), resources=(server,))

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Build the service on ``settings.database_url``, or on the embedded server without one."""
        if settings.database_url:
            return cls.from_url(settings.database_url, settings)
        return cls.embedded(settings)

    @classmethod
    def in_memory(
        cls,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        hasher: PasswordHasher | None = None,
    ) -> Self:
        """Build the service on in-memory storage: nothing persists, nothing to set up.

        Without a configured secret, tokens are signed with a random key that
        lives as long as this object.
        """
        settings = settings or Settings()
        if not (settings.jwt_secret or settings.jwt_private_key):
            settings = settings.evolve(jwt_secret=RandomIdGenerator().new_secret())
        clock = clock or SystemClock()
        db = InMemoryDatabase()
        closers: tuple[Callable[[], Awaitable[object]], ...] = ()
        if hasher is None:
            own = _hasher(settings)
            hasher, closers = own, (own.aclose,)
        return cls(
            settings=settings,
            uow=InMemoryUnitOfWork(db),
            attempts=InMemoryLoginAttemptStore(db),
            secrets=InMemoryServiceSecrets(),
            hasher=hasher,
            codec=_LazyCodec(settings, clock),
            clock=clock,
            ids=RandomIdGenerator(),
            closers=closers,
        )

    @classmethod
    def _on_postgres(
        cls,
        url: str,
        settings: Settings,
        *,
        clock: Clock | None = None,
        hasher: PasswordHasher | None = None,
        resources: tuple[object, ...] = (),
    ) -> Self:
        clock = clock or SystemClock()
        database = PostgresDatabase(url, max_size=settings.database_pool_size)
        attempts: LoginAttemptStore = PostgresLoginAttemptStore(database.pool)
        closers: tuple[Callable[[], Awaitable[object]], ...] = ()
        if hasher is None:
            own = _hasher(settings)
            hasher, closers = own, (own.aclose,)
        if settings.redis_url:
            redis_store = _redis_attempts(settings.redis_url)
            attempts, closers = redis_store, (*closers, redis_store.aclose)
        return cls(
            settings=settings,
            uow=database.uow,
            attempts=attempts,
            secrets=PostgresServiceSecrets(database.pool),
            hasher=hasher,
            codec=_LazyCodec(settings, clock),
            clock=clock,
            ids=RandomIdGenerator(),
            database=database,
            resources=resources,
            closers=closers,
        )

    # --- lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        """Open the connection pool, applying migrations first if the settings say so.

        Raises:
            MigrationError: the schema cannot be migrated safely.
            UnavailableError: migrations were due but the database is unreachable.
        """
        for closer in self._closers:
            self._exit.push_async_callback(closer)
        if self._database is None:
            return
        if self.settings.migrate_on_start:
            await self.migrate()
        await self._database.open()
        self._exit.push_async_callback(self._database.close)

    async def close(self) -> None:
        """Close every connection this service opened."""
        await self._exit.aclose()

    async def __aenter__(self) -> Self:
        """Open the service."""
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Close the service."""
        await self.close()

    @contextmanager
    def blocking(self) -> Iterator[BlockingUserManagement]:
        """Open the service on a private event-loop thread, for synchronous callers.

        Example:
            >>> with UserManagement.in_memory().blocking() as um:  # doctest: +SKIP
            ...     um.register_user("ann@example.org", "correct horse battery")
        """
        with anyio.from_thread.start_blocking_portal() as portal:
            portal.call(self.open)
            try:
                yield BlockingUserManagement(self, portal)
            finally:
                portal.call(self.close)

    # --- operations -----------------------------------------------------------------------

    async def migrate(self) -> list[MigrationState]:
        """Apply pending migrations; return the ones applied (nothing to do in memory)."""
        if self._database is None:
            return []
        return await Migrator(self._database.url).migrate()

    async def migration_status(self) -> list[MigrationState]:
        """Return every migration with when it was applied (``None`` if pending)."""
        if self._database is None:
            return []
        return await Migrator(self._database.url).status()

    async def check_health(self) -> bool:
        """Return whether the database answers within three seconds."""
        return True if self._database is None else await self._database.ping()

    async def purge_expired(self) -> int:
        """Delete sessions, device tokens and throttle counters that ended a day ago or more.

        Returns how many rows went.
        """
        before = self._clock.now() - _PURGE_AFTER
        async with self._uow.standalone() as repos:
            sessions = await repos.sessions.purge(before)
            devices = await repos.devices.purge(before)
        return sessions + devices + await self._attempts.purge(before - self._forget_after)

    def jwks(self) -> dict[str, list[dict[str, str]]] | None:
        """Return the public keys that verify access tokens, or ``None`` with a shared secret."""
        return self._codec.resolve().jwks()

    def shared_store(self, namespace: str) -> Store:
        """Return a key-value store (Litestar's ``Store``) shared with every instance.

        Redis when ``settings.redis_url`` is set, otherwise this service's
        PostgreSQL database; in memory, a store private to this process. Use it
        while the service is open, inside ``async with store:`` (which closes a
        Redis client at the end).

        Raises:
            ConfigurationError: Redis is configured but its client is not installed.
        """
        from litestar.stores.memory import MemoryStore  # noqa: PLC0415 - only the HTTP face needs it

        from usermgmt.adapters.postgres.store import PostgresStore  # noqa: PLC0415 - likewise

        if self._database is None:
            return MemoryStore()
        if self.settings.redis_url:
            return _redis_store(self.settings.redis_url, namespace)
        return PostgresStore(self._database.pool, namespace=namespace)

    # --- use cases ------------------------------------------------------------------------

    async def register_user(
        self,
        email: str,
        password: str,
        name: str = "",
        *,
        role: Role = Role.USER,
        actor: Actor | None = None,
    ) -> User:
        """Register a user (see :class:`usermgmt.usecases.accounts.RegisterUser`)."""
        return await self._register(email, password, name, role=role, actor=actor)

    async def authenticate(
        self, email: str, password: str, *, client: str = "", device_token: str | None = None
    ) -> TokenPair:
        """Sign in and start a session (see :class:`usermgmt.usecases.sessions.Authenticate`)."""
        return await self._authenticate(email, password, client=client, device_token=device_token)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate a refresh token (see :class:`usermgmt.usecases.sessions.RefreshSession`)."""
        return await self._refresh(refresh_token)

    async def validate_access_token(self, token: str) -> Principal:
        """Return the caller (see :class:`usermgmt.usecases.sessions.ValidateAccessToken`)."""
        return await self._validate(token)

    async def logout(self, principal: Principal, *, all_sessions: bool = False) -> None:
        """End the session, or all of them (see :class:`usermgmt.usecases.sessions.Logout`)."""
        await self._logout(principal, all_sessions=all_sessions)

    async def get_user(
        self, user_id: UserId, *, actor: Actor, include_deleted: bool = False
    ) -> User:
        """Read one user (see :class:`usermgmt.usecases.accounts.GetUser`)."""
        return await self._get(user_id, actor=actor, include_deleted=include_deleted)

    async def find_user(
        self, reference: str, *, actor: Actor, include_deleted: bool = False
    ) -> User:
        """Find a user by id or email (see :class:`usermgmt.usecases.accounts.FindUser`)."""
        return await self._find(reference, actor=actor, include_deleted=include_deleted)

    async def list_users(
        self, *, actor: Actor, page: int = 1, per_page: int = 20, include_deleted: bool = False
    ) -> UserPage:
        """List one numbered page (see :meth:`usermgmt.usecases.listing.ListUsers.page`)."""
        return await self._list.page(
            actor=actor, page=page, per_page=per_page, include_deleted=include_deleted
        )

    async def list_users_after(
        self,
        *,
        actor: Actor,
        cursor: str | None = None,
        per_page: int = 20,
        include_deleted: bool = False,
    ) -> UserSlice:
        """List users after a cursor (see :meth:`usermgmt.usecases.listing.ListUsers.walk`)."""
        return await self._list.walk(
            actor=actor, cursor=cursor, per_page=per_page, include_deleted=include_deleted
        )

    async def update_user(
        self,
        user_id: UserId,
        *,
        actor: Actor,
        name: str | None = None,
        email: str | None = None,
        password: str | None = None,
        current_password: str | None = None,
        role: Role | None = None,
        is_active: bool | None = None,
    ) -> User:
        """Change some of a user's fields (see :class:`usermgmt.usecases.accounts.UpdateUser`)."""
        changes = UserChanges(
            name=name,
            email=email,
            password=password,
            current_password=current_password,
            role=role,
            is_active=is_active,
        )
        return await self._update(user_id, changes, actor=actor)

    async def change_password(
        self,
        user_id: UserId,
        new_password: str,
        *,
        actor: Actor,
        current_password: str | None = None,
    ) -> User:
        """Set a user's password (see :class:`usermgmt.usecases.accounts.ChangePassword`)."""
        return await self._change_password(
            user_id, new_password, actor=actor, current_password=current_password
        )

    async def delete_user(self, user_id: UserId, *, actor: Actor) -> None:
        """Soft-delete a user (see :class:`usermgmt.usecases.accounts.DeleteUser`)."""
        await self._delete(user_id, actor=actor)

    async def restore_user(self, user_id: UserId, *, actor: Actor) -> User:
        """Undo a soft delete (see :class:`usermgmt.usecases.accounts.RestoreUser`)."""
        return await self._restore(user_id, actor=actor)

    async def revoke_sessions(self, user_id: UserId, *, actor: Actor) -> int:
        """End every session of a user (see :class:`usermgmt.usecases.sessions.RevokeSessions`)."""
        return await self._revoke(user_id, actor=actor)


def _redis_attempts(url: str) -> RedisLoginAttemptStore:
    try:
        from usermgmt.adapters.redis import RedisLoginAttemptStore  # noqa: PLC0415 - optional
    except ImportError:
        msg = "USERMGMT_REDIS_URL is set but the redis client is missing: install usermgmt[redis]"
        raise ConfigurationError(msg) from None
    return RedisLoginAttemptStore.from_url(url)


def _redis_store(url: str, namespace: str) -> Store:
    try:
        from litestar.stores.redis import RedisStore  # noqa: PLC0415 - needs the optional client
    except ImportError:
        msg = "USERMGMT_REDIS_URL is set but the redis client is missing: install usermgmt[redis]"
        raise ConfigurationError(msg) from None
    return RedisStore.with_client(url, namespace=namespace)


def _blocking(
    method: Callable[Concatenate[UserManagement, P], Awaitable[T]],
) -> Callable[Concatenate[BlockingUserManagement, P], T]:
    """Turn an async method of UserManagement into a sync one of BlockingUserManagement."""

    def call(self: BlockingUserManagement, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.portal.call(functools.partial(method, self.service, *args, **kwargs))

    call.__name__ = method.__name__
    call.__doc__ = method.__doc__
    return call


@attrs.frozen
class BlockingUserManagement:
    """The same service for synchronous code: each call runs on the service's loop thread."""

    service: UserManagement
    portal: anyio.from_thread.BlockingPortal

    migrate = _blocking(UserManagement.migrate)
    migration_status = _blocking(UserManagement.migration_status)
    check_health = _blocking(UserManagement.check_health)
    purge_expired = _blocking(UserManagement.purge_expired)
    register_user = _blocking(UserManagement.register_user)
    authenticate = _blocking(UserManagement.authenticate)
    refresh = _blocking(UserManagement.refresh)
    validate_access_token = _blocking(UserManagement.validate_access_token)
    logout = _blocking(UserManagement.logout)
    get_user = _blocking(UserManagement.get_user)
    find_user = _blocking(UserManagement.find_user)
    list_users = _blocking(UserManagement.list_users)
    list_users_after = _blocking(UserManagement.list_users_after)
    update_user = _blocking(UserManagement.update_user)
    change_password = _blocking(UserManagement.change_password)
    delete_user = _blocking(UserManagement.delete_user)
    restore_user = _blocking(UserManagement.restore_user)
    revoke_sessions = _blocking(UserManagement.revoke_sessions)

    def jwks(self) -> dict[str, list[dict[str, str]]] | None:
        """Return the public keys that verify access tokens (see :meth:`UserManagement.jwks`)."""
        return self.service.jwks()
