"""The service facade: ``UserManagement``, every use case as an awaitable method.

The facade restates no use case's signature: each method is a
:class:`~usermgmt._service.methods.UseCaseMethod` built from the use case's
class, whose ``__call__`` gives the method its parameters for mypy and
editors. What is not a use case (opening and closing, migrations, health,
keys, the shared store, the hooks of the metrics, event subscriptions) is
written here. The module runs past 300 lines because it is the service's
whole public surface, one short method each, kept in one place for a reader
of the API; the machinery of the derived methods lives in ``methods``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Self, TypeVar

import anyio.from_thread

from usermgmt._service import codec, factories
from usermgmt._service.factories import Parts
from usermgmt._service.health import Readiness, check_readiness
from usermgmt._service.methods import UseCaseMethod
from usermgmt._service.wiring import UseCases, wire
from usermgmt.adapters.clock import SystemClock
from usermgmt.adapters.embedded import start_embedded
from usermgmt.adapters.passwords import Argon2PasswordHasher
from usermgmt.adapters.postgres import MigrationState, Migrator, PostgresDatabase
from usermgmt.domain.events import Event, MailRequested
from usermgmt.ports import Clock, PasswordHasher
from usermgmt.ports.mail import Mailer
from usermgmt.settings import Settings
from usermgmt.usecases.accounts import DeleteUser, FindUser, GetUser, RegisterUser, RestoreUser
from usermgmt.usecases.active_sessions import (
    EndOtherSessions,
    EndSession,
    ListOwnSessions,
    ListSessions,
)
from usermgmt.usecases.audit import ListAuditEvents, ListOwnAuditEvents, PurgeAuditEvents
from usermgmt.usecases.events import DispatchEvents, Handler
from usermgmt.usecases.listing import ListUsers, ListUsersAfter
from usermgmt.usecases.login import Authenticate
from usermgmt.usecases.mail import Outcome
from usermgmt.usecases.maintenance import PurgeExpired
from usermgmt.usecases.mfa_login import VerifyMfa
from usermgmt.usecases.passkeys import (
    BeginPasskeyLogin,
    BeginPasskeyRegistration,
    FinishPasskeyRegistration,
    ListPasskeys,
    PasskeyLogin,
    RemovePasskey,
)
from usermgmt.usecases.recovery import RequestPasswordReset, ResetPassword
from usermgmt.usecases.sessions import (
    Logout,
    RefreshSession,
    RevokeSessions,
    ValidateAccessToken,
)
from usermgmt.usecases.totp import (
    ConfirmTotp,
    DisableTotp,
    RegenerateRecoveryCodes,
    ResetMfa,
    StartTotp,
)
from usermgmt.usecases.updates import ChangePassword, UpdateUser
from usermgmt.usecases.verification import RequestVerification, VerifyEmail

if TYPE_CHECKING:
    from litestar.stores.base import Store

    from usermgmt._service.blocking import BlockingUserManagement

E = TypeVar("E", bound=Event)


class UserManagement:
    """The usermgmt service: build it, open it, call its use cases.

    Build it with :meth:`from_url`, :meth:`embedded`, :meth:`in_memory` or
    :meth:`from_settings`; use it as an async context manager (or
    :meth:`blocking` from synchronous code) so that its connections are opened
    and closed.
    """

    def __init__(self, parts: Parts) -> None:
        """Wire the use cases on *parts*; prefer the named constructors."""
        self.settings = parts.settings
        self._parts = parts  # holds the resources (the embedded server) as long as we live
        self.use_cases: UseCases = wire(parts)
        """Every use case, typed; the methods below run these."""
        self._exit = AsyncExitStack()

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def from_url(
        cls,
        url: str,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        hasher: PasswordHasher | None = None,
        mailer: Mailer | None = None,
    ) -> Self:
        """Build the service on the PostgreSQL database at *url*.

        Args:
            url: a libpq connection URL, ``postgresql://user@host:5432/db``.
            settings: everything else (default: built-in defaults, not the environment).
            clock: the time source (default: the system clock).
            hasher: the password hasher (default: argon2id with the settings' parameters).
            mailer: what sends mail (default: the one ``settings.mail_url`` names).
        """
        settings = (settings or Settings()).evolve(database_url=url)
        return cls(
            factories.postgres_parts(url, settings, clock=clock, hasher=hasher, mailer=mailer)
        )

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
        settings = settings.evolve(database_url=url)
        return cls(factories.postgres_parts(url, settings, resources=(server,)))

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
        mailer: Mailer | None = None,
    ) -> Self:
        """Build the service on in-memory storage: nothing persists, nothing to set up.

        Without a configured secret, tokens are signed with a random key that
        lives as long as this object. *mailer* sends the mail (default: the
        one ``settings.mail_url`` names, the log in development).
        """
        return cls(
            factories.in_memory_parts(
                settings or Settings(), clock=clock, hasher=hasher, mailer=mailer
            )
        )

    # --- lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        """Open the connection pool, applying migrations first if the settings say so.

        Raises:
            MigrationError: the schema cannot be migrated safely.
            UnavailableError: migrations were due but the database is unreachable.
        """
        for closer in self._parts.closers:
            self._exit.push_async_callback(closer)
        database = self._parts.database
        if database is None:
            return
        if self.settings.migrate_on_start:
            await self.migrate()
        await database.open()
        self._exit.push_async_callback(database.close)

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
        from usermgmt._service.blocking import BlockingUserManagement  # noqa: PLC0415 - built on us

        with anyio.from_thread.start_blocking_portal() as portal:
            portal.call(self.open)
            try:
                yield BlockingUserManagement(self, portal)
            finally:
                portal.call(self.close)

    # --- operations -----------------------------------------------------------------------

    async def migrate(self) -> list[MigrationState]:
        """Apply pending migrations; return the ones applied (nothing to do in memory)."""
        if self._parts.database is None:
            return []
        return await Migrator(self._migrations_url(self._parts.database)).migrate()

    async def migration_status(self) -> list[MigrationState]:
        """Return every migration with when it was applied (``None`` if pending)."""
        if self._parts.database is None:
            return []
        return await Migrator(self._migrations_url(self._parts.database)).status()

    def _migrations_url(self, database: PostgresDatabase) -> str:
        """Return the URL migrations run on: the direct one when set, else the service's."""
        return self.settings.migrations_database_url or database.url

    async def check_health(self) -> bool:
        """Return whether the database answers within three seconds."""
        database = self._parts.database
        return True if database is None else await database.ping()

    async def check_readiness(self) -> Readiness:
        """Return whether the database answers within a second with the newest schema.

        In memory the service is always ready.
        """
        return await check_readiness(self._parts.database, self._known_migrations)

    @functools.cached_property
    def _known_migrations(self) -> frozenset[int]:
        database = self._parts.database
        return frozenset() if database is None else Migrator(database.url).versions

    def observe_password_hashing(self, observer: Callable[[float], None]) -> None:
        """Call *observer* with the seconds of each password hash and verification.

        Only the built-in argon2 hasher reports its timings (on its worker
        threads); a hasher given to the constructor is left alone.
        """
        if isinstance(self._parts.hasher, Argon2PasswordHasher):
            self._parts.hasher.observe(observer)

    def observe_mail(self, observer: Callable[[Outcome], None]) -> None:
        """Call *observer* with ``"sent"`` or ``"failed"`` as each queued message is settled."""
        self.use_cases.deliver_mail.observe(observer)

    async def pending_mail(self) -> int:
        """Return how many queued mail messages are neither sent nor given up.

        Raises:
            UnavailableError: the database cannot be reached.
        """
        return await self._parts.outbox.pending(MailRequested.type_name())

    def database_connections(self) -> dict[str, int] | None:
        """Return the connection pool's connections by state, or ``None`` in memory."""
        database = self._parts.database
        return None if database is None else database.connections()

    def prepare_mail(self) -> None:
        """Build the mailer and load the mail templates now, not at the first message.

        Raises:
            ConfigurationError: production without ``USERMGMT_MAIL_URL``, or a
                bad mail URL, sender or template (the one line says which).
        """
        self._parts.mail.resolve()

    def jwks(self) -> dict[str, list[dict[str, str]]] | None:
        """Return the public keys that verify access tokens, or ``None`` with a shared secret."""
        return self._parts.codec.resolve().jwks()

    @staticmethod
    def public_keys(settings: Settings) -> dict[str, list[dict[str, str]]] | None:
        """Return the JWK set that *settings*' keys publish, without building a service.

        Raises:
            ConfigurationError: a key file is missing, unreadable or not an Ed25519 key.
        """
        return codec.token_codec(settings, SystemClock()).jwks()

    @staticmethod
    def generate_signing_key(path: Path) -> str:
        """Write a new Ed25519 signing key to *path* (PEM, mode 0600) and return its ``kid``.

        Raises:
            FileExistsError: something exists at *path*; it is never replaced.
            OSError: the file cannot be written.
        """
        from usermgmt.adapters.keys import write_signing_key  # noqa: PLC0415 - loads cryptography

        return write_signing_key(path)

    def shared_store(self, namespace: str) -> Store:
        """Return a key-value store (Litestar's ``Store``) shared with every instance.

        Redis when ``settings.redis_url`` is set, otherwise this service's
        PostgreSQL database; in memory, a store private to this process. Use it
        while the service is open, inside ``async with store:`` (which closes a
        Redis client at the end).

        Raises:
            ConfigurationError: Redis is configured but its client is not installed.
        """
        return factories.shared_store(self._parts, namespace)

    # --- events ---------------------------------------------------------------------------

    def subscribe(self, kind: type[E], handler: Handler[E]) -> Callable[[], None]:
        """Await *handler* with every event that is a *kind* (``Event``: every event).

        Events reach subscribers from :meth:`dispatch_events` (one pass) or
        while :meth:`dispatching` runs (the HTTP app runs it for its whole
        life). Delivery is at least once: make *handler* idempotent, keyed
        on ``delivery.id``. Returns a function that ends the subscription.
        """
        return self.use_cases.dispatch_events.subscribe(kind, handler)

    def dispatching(self) -> AbstractAsyncContextManager[None]:
        """Deliver events in the background for the length of an ``async with`` block."""
        return self.use_cases.dispatch_events.running()

    # --- use cases: each runs the use case of its name in ``use_cases`` --------------------

    register_user = UseCaseMethod(RegisterUser)
    authenticate = UseCaseMethod(Authenticate)
    refresh = UseCaseMethod(RefreshSession)
    validate_access_token = UseCaseMethod(ValidateAccessToken)
    logout = UseCaseMethod(Logout)
    get_user = UseCaseMethod(GetUser)
    find_user = UseCaseMethod(FindUser)
    list_users = UseCaseMethod(ListUsers)
    list_users_after = UseCaseMethod(ListUsersAfter)
    update_user = UseCaseMethod(UpdateUser)
    change_password = UseCaseMethod(ChangePassword)
    delete_user = UseCaseMethod(DeleteUser)
    restore_user = UseCaseMethod(RestoreUser)
    revoke_sessions = UseCaseMethod(RevokeSessions)
    list_own_sessions = UseCaseMethod(ListOwnSessions)
    list_sessions = UseCaseMethod(ListSessions)
    end_session = UseCaseMethod(EndSession)
    end_other_sessions = UseCaseMethod(EndOtherSessions)
    purge_expired = UseCaseMethod(PurgeExpired)
    request_password_reset = UseCaseMethod(RequestPasswordReset)
    reset_password = UseCaseMethod(ResetPassword)
    verify_email = UseCaseMethod(VerifyEmail)
    resend_verification = UseCaseMethod(RequestVerification)
    dispatch_events = UseCaseMethod(DispatchEvents)
    list_audit_events = UseCaseMethod(ListAuditEvents)
    list_own_audit_events = UseCaseMethod(ListOwnAuditEvents)
    purge_audit_events = UseCaseMethod(PurgeAuditEvents)
    begin_passkey_registration = UseCaseMethod(BeginPasskeyRegistration)
    finish_passkey_registration = UseCaseMethod(FinishPasskeyRegistration)
    list_passkeys = UseCaseMethod(ListPasskeys)
    remove_passkey = UseCaseMethod(RemovePasskey)
    begin_passkey_login = UseCaseMethod(BeginPasskeyLogin)
    passkey_login = UseCaseMethod(PasskeyLogin)
    start_totp = UseCaseMethod(StartTotp)
    confirm_totp = UseCaseMethod(ConfirmTotp)
    disable_totp = UseCaseMethod(DisableTotp)
    regenerate_recovery_codes = UseCaseMethod(RegenerateRecoveryCodes)
    reset_mfa = UseCaseMethod(ResetMfa)
    verify_mfa = UseCaseMethod(VerifyMfa)
