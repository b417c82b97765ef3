"""Configuration: every setting, its environment variable, and its default.

``Settings.from_env`` is the only reader of ``os.environ`` in usermgmt. The
``serve`` command has a flag for every field; flags override the environment.
"""

from __future__ import annotations

import enum
import ipaddress
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final, TypeVar

import attrs
import platformdirs

from usermgmt.domain.errors import ConfigurationError

T = TypeVar("T")

MIN_SECRET_BYTES: Final = 32
"""HS256 keys shorter than 256 bits are refused in production (RFC 8725 §3.5)."""

log = logging.getLogger("usermgmt")


class Environment(enum.StrEnum):
    """Where the service runs: production refuses unsafe defaults."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


class LogFormat(enum.StrEnum):
    """How ``serve`` writes its log: one line of text, or one JSON object, per event."""

    TEXT = "text"
    JSON = "json"


def default_data_dir() -> Path:
    """Return the user data directory: ``$XDG_DATA_HOME/usermgmt`` on Linux."""
    return Path(platformdirs.user_data_dir("usermgmt", appauthor=False))


def _positive(value: int) -> int:
    if value <= 0:
        msg = "must be a positive whole number"
        raise ValueError(msg)
    return value


def _not_negative(value: int) -> int:
    if value < 0:
        msg = "must be zero or a positive whole number"
        raise ValueError(msg)
    return value


def _boolean(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    msg = "must be true or false"
    raise ValueError(msg)


def _origins(raw: str) -> tuple[str, ...]:
    return tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())


def parse_networks(raw: str) -> tuple[str, ...]:
    """Parse comma-separated IP addresses and networks into their canonical forms.

    Raises:
        ValueError: an entry is neither an address nor a network (or sets host bits).
    """
    return tuple(
        str(ipaddress.ip_network(part.strip(), strict=True))
        for part in raw.split(",")
        if part.strip()
    )


@attrs.frozen(kw_only=True)
class Settings:
    """Every setting of usermgmt; see the README's configuration table."""

    database_url: str | None = None
    env: Environment = Environment.DEVELOPMENT
    jwt_secret: str | None = attrs.field(default=None, repr=False)
    jwt_private_key: Path | None = None
    jwt_issuer: str = "usermgmt"
    jwt_audience: str = "usermgmt"
    access_token_ttl: int = 900
    refresh_token_ttl: int = 2_592_000
    password_min_length: int = 8
    rate_limit_per_minute: int = 60
    login_max_failures: int = 5
    login_max_failures_per_account: int = 100
    refresh_reuse_grace: int = 10
    cors_origins: tuple[str, ...] = ()
    redis_url: str | None = attrs.field(default=None, repr=False)
    redis_key_prefix: str = ""
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65_536
    argon2_parallelism: int = 4
    database_pool_size: int = 10
    migrate_on_start: bool = True
    data_dir: Path = attrs.field(factory=default_data_dir)
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    metrics: bool = False
    log_format: LogFormat = LogFormat.TEXT
    trusted_proxies: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the ``USERMGMT_*`` variables of *environ* (default: ``os.environ``).

        Raises:
            ConfigurationError: a variable holds a value of the wrong form.
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}

        def read(field: str, parse: Callable[[str], T]) -> None:
            name = f"USERMGMT_{field.upper()}"
            raw = env.get(name)
            if raw is None or raw.strip() == "":
                return
            try:
                values[field] = parse(raw.strip())
            except ValueError as exc:
                raise ConfigurationError(f"{name}={raw!r} is not valid: {exc}") from None

        for field in (
            "database_url",
            "jwt_secret",
            "redis_url",
            "redis_key_prefix",
            "jwt_issuer",
            "jwt_audience",
            "host",
        ):
            read(field, str)
        read("env", Environment)
        read("jwt_private_key", Path)
        read("data_dir", Path)
        read("cors_origins", _origins)
        read("migrate_on_start", _boolean)
        read("metrics", _boolean)
        read("log_format", lambda raw: LogFormat(raw.lower()))
        read("trusted_proxies", parse_networks)
        for field in (
            "access_token_ttl",
            "refresh_token_ttl",
            "password_min_length",
            "argon2_time_cost",
            "argon2_memory_cost",
            "argon2_parallelism",
            "database_pool_size",
            "port",
            "workers",
        ):
            read(field, lambda raw: _positive(int(raw)))
        for field in (
            "rate_limit_per_minute",
            "login_max_failures",
            "login_max_failures_per_account",
            "refresh_reuse_grace",
        ):
            read(field, lambda raw: _not_negative(int(raw)))
        return cls(**values)  # type: ignore[arg-type]  # each value was parsed to its field's type

    def evolve(self, **changes: object) -> Settings:
        """Return these settings with *changes* (``None`` values are ignored: "flag not given")."""
        given = {k: v for k, v in changes.items() if v is not None}
        return attrs.evolve(self, **given)  # type: ignore[arg-type]  # names are checked by attrs

    @property
    def is_production(self) -> bool:
        """Whether unsafe defaults are refused."""
        return self.env is Environment.PRODUCTION

    def check(self) -> None:
        """Refuse contradictory or, in production, unsafe settings.

        Raises:
            ConfigurationError: with the one line that says what to fix.
        """
        if self.jwt_secret and self.jwt_private_key:
            msg = (
                "set USERMGMT_JWT_SECRET or USERMGMT_JWT_PRIVATE_KEY, not both: "
                "the signing key would be ambiguous"
            )
            raise ConfigurationError(msg)
        if self.is_production and not (self.jwt_secret or self.jwt_private_key):
            msg = (
                "production mode needs a signing key: set USERMGMT_JWT_SECRET (at least "
                f"{MIN_SECRET_BYTES} bytes) or USERMGMT_JWT_PRIVATE_KEY (an Ed25519 PEM file)"
            )
            raise ConfigurationError(msg)
        if self.jwt_secret and len(self.jwt_secret.encode()) < MIN_SECRET_BYTES:
            msg = f"USERMGMT_JWT_SECRET is shorter than {MIN_SECRET_BYTES} bytes"
            if self.is_production:
                raise ConfigurationError(msg + ": refused in production")
            log.warning("%s; acceptable only in development", msg)
        if self.argon2_memory_cost < 8 * self.argon2_parallelism:
            msg = "USERMGMT_ARGON2_MEMORY_COST must be at least 8 KiB per lane of parallelism"
            raise ConfigurationError(msg)
