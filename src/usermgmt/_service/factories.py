"""The parts a service is built from, and the factories that make them from settings.

Only this package names adapters. A :class:`Parts` record holds every port
the use cases need and what the service must open and close; the factories
build one on PostgreSQL or in memory.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import argon2
import attrs
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from usermgmt.adapters.clock import RandomIdGenerator, SystemClock
from usermgmt.adapters.keys import development_secret
from usermgmt.adapters.mail import load_templates, mailer_from_url
from usermgmt.adapters.memory import (
    InMemoryDatabase,
    InMemoryLoginAttemptStore,
    InMemoryOutboxStore,
    InMemoryServiceSecrets,
    InMemoryUnitOfWork,
)
from usermgmt.adapters.passwords import Argon2PasswordHasher
from usermgmt.adapters.postgres import (
    PostgresDatabase,
    PostgresLoginAttemptStore,
    PostgresOutboxStore,
    PostgresServiceSecrets,
)
from usermgmt.adapters.tokens import JwtTokenCodec, load_private_key
from usermgmt.domain.errors import ConfigurationError, ValidationError
from usermgmt.domain.mail import Mailbox, MailMessage
from usermgmt.domain.model import AccessClaims
from usermgmt.domain.templates import MailTemplates
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
        )
    )


# --- the token codec ----------------------------------------------------------------------

_MAX_KEY_BYTES = 64 * 1024
"""An Ed25519 PEM key is about 120 bytes; a file much larger is not one (or is /dev/zero)."""


def key_file(path: Path) -> bytes:
    """Return the Ed25519 private key PEM at *path*, or say in one line what is wrong with it.

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
        load_private_key(pem)
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
    else:
        return pem
    raise ConfigurationError(msg)


def _is_private_key(pem: bytes) -> bool:
    try:
        serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def token_codec(settings: Settings, clock: Clock) -> JwtTokenCodec:
    """Return the codec the settings ask for: Ed25519 keys, shared secrets, or a dev secret.

    The first key (or the secret) signs; the others only verify.

    Raises:
        ConfigurationError: the settings are unsafe, or the key is unusable.
    """
    settings.check()
    options: dict[str, Any] = {
        "issuer": settings.jwt_issuer,
        "audience": settings.jwt_audience,
        "clock": clock,
    }
    if settings.jwt_private_key:
        signing, *verifying = (key_file(path) for path in settings.jwt_private_key)
        return JwtTokenCodec.eddsa(signing, previous=verifying, **options)
    previous = [secret.encode("utf-8") for secret in settings.jwt_previous_secrets]
    secret = (
        settings.jwt_secret.encode("utf-8")
        if settings.jwt_secret
        else development_secret(settings.data_dir)
    )
    return JwtTokenCodec.hs256(secret, previous=previous, **options)


class LazyCodec:
    """The token codec, built on first use.

    Commands that never sign or check a token (migrations, user administration)
    then need no signing key, and a development secret is generated only by
    the processes that use it.
    """

    def __init__(self, settings: Settings, clock: Clock) -> None:
        """Remember what to build the codec from."""
        self._settings = settings
        self._clock = clock
        self._codec: JwtTokenCodec | None = None

    def resolve(self) -> JwtTokenCodec:
        """Return the codec, building it now if need be.

        Raises:
            ConfigurationError: the signing key is missing, unreadable or unsafe.
        """
        if self._codec is None:
            self._codec = token_codec(self._settings, self._clock)
        return self._codec

    def encode(self, claims: AccessClaims) -> str:
        """Sign *claims* (see ``TokenCodec.encode``)."""
        return self.resolve().encode(claims)

    def decode(self, token: str) -> AccessClaims:
        """Check *token* (see ``TokenCodec.decode``)."""
        return self.resolve().decode(token)


# --- mail ---------------------------------------------------------------------------------

_NO_MAIL_URL = (
    "production mode needs USERMGMT_MAIL_URL: smtp://, smtp+tls:// or smtps:// with your "
    "mail server, file:///directory, or disabled (no mail is sent)"
)


@attrs.frozen
class MailParts:
    """What mail is sent with: the mailer ``USERMGMT_MAIL_URL`` names, and the templates."""

    mailer: Mailer
    templates: MailTemplates


def mail_parts(settings: Settings, mailer: Mailer | None = None) -> MailParts:
    """Return the mailer (*mailer*, or the one the settings name) and the loaded templates.

    Raises:
        ConfigurationError: production without a mail URL, a bad URL, sender
            or template; the one line says which.
    """
    if mailer is None:
        if settings.is_production and settings.mail_url is None:
            raise ConfigurationError(_NO_MAIL_URL)
        try:
            sender = Mailbox.parse(settings.mail_from)
        except ValidationError as exc:
            msg = f"USERMGMT_MAIL_FROM={settings.mail_from!r} is not valid: {exc.reason}"
            raise ConfigurationError(msg) from None
        mailer = mailer_from_url(settings.effective_mail_url, sender=sender)
    return MailParts(mailer, load_templates(settings.app_url, settings.mail_templates))


class LazyMail:
    """The mailer and templates, built on first use; itself a :class:`Mailer`.

    Commands that send no mail (migrations, user administration) then need no
    mail URL, even in production; ``serve`` resolves it at start-up, so a bad
    URL or template stops the service before it answers.
    """

    def __init__(self, settings: Settings, mailer: Mailer | None = None) -> None:
        """Remember what to build from (*mailer*: use this one instead of the settings' URL)."""
        self._settings = settings
        self._mailer = mailer
        self._parts: MailParts | None = None

    def resolve(self) -> MailParts:
        """Return the mailer and templates, building them now if need be.

        Raises:
            ConfigurationError: see :func:`mail_parts`.
        """
        if self._parts is None:
            self._parts = mail_parts(self._settings, self._mailer)
        return self._parts

    async def send(self, message: MailMessage) -> None:
        """Send *message* through the mailer (see ``Mailer.send``)."""
        await self.resolve().mailer.send(message)


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
