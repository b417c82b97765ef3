"""Configuration: every setting, declared once, with its variable, parser, default and help.

Each field of :class:`Settings` is one :func:`setting` declaration. Its
environment variable (``USERMGMT_`` and the field's name in capitals) and its
``serve`` flag (``--`` and the name with dashes) are derived from the name;
``Settings.from_env`` reads the variables through the declared parsers,
``Settings.to_env`` writes them back for ``serve``'s workers, and ``serve``
builds one flag per declaration (:data:`DECLARED`). A test holds the README's
configuration table and ``serve --help`` to the same list.

``Settings.from_env`` is the only reader of ``os.environ`` in usermgmt. The
module is longer than most because the declarations, help text included,
are the configuration's one source.
"""

from __future__ import annotations

import enum
import ipaddress
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

import attrs
import platformdirs

from usermgmt.domain.errors import ConfigurationError, ValidationError
from usermgmt.domain.mail import Mailbox
from usermgmt.domain.verification import VerificationMode

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


def _whole_number(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        msg = "must be a whole number"
        raise ValueError(msg) from None


def _positive(raw: str) -> int:
    value = _whole_number(raw)
    if value <= 0:
        msg = "must be a positive whole number"
        raise ValueError(msg)
    return value


def _not_negative(raw: str) -> int:
    value = _whole_number(raw)
    if value < 0:
        msg = "must be zero or a positive whole number"
        raise ValueError(msg)
    return value


def _issuer(raw: str) -> str:
    value = raw.strip()
    if not value or not value.isprintable() or ":" in value:
        msg = "must be a non-empty name without ':' or control characters"
        raise ValueError(msg)
    return value


def _port(raw: str) -> int:
    value = _positive(raw)
    if value > 65535:  # noqa: PLR2004 - the largest TCP port
        msg = "must be a port number, 1 to 65535"
        raise ValueError(msg)
    return value


def _log_format(raw: str) -> LogFormat:
    return LogFormat(raw.lower())


def _verification_mode(raw: str) -> VerificationMode:
    try:
        return VerificationMode(raw.lower())
    except ValueError:
        msg = "must be off, optional or required"
        raise ValueError(msg) from None


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


def _paths(raw: str) -> tuple[Path, ...]:
    return tuple(Path(part.strip()) for part in raw.split(",") if part.strip())


def _key_paths(value: Path | str | Iterable[Path | str] | None) -> tuple[Path, ...]:
    """Accept one key file (as before key rotation) or several, first the one that signs."""
    if value is None:
        return ()
    if isinstance(value, Path):
        return (value,)
    if isinstance(value, str):
        return _paths(value)
    return tuple(Path(each) for each in value)


def _secrets(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


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


def _mail_from(raw: str) -> str:
    try:
        Mailbox.parse(raw)
    except ValidationError as exc:
        raise ValueError(exc.reason) from None
    return raw


def _app_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        msg = "must be an http:// or https:// URL such as https://id.example.org"
        raise ValueError(msg)
    if parts.query or parts.fragment:
        msg = "must have no query or fragment: the links in mail add their own"
        raise ValueError(msg)
    return raw.rstrip("/")


def _rp_id(raw: str) -> str:
    host = raw.strip().lower()
    if not host or any(c in host for c in "/:@ ") or host.startswith(".") or host.endswith("."):
        msg = "must be a domain name such as example.org (no scheme, port or path)"
        raise ValueError(msg)
    return host


def _under_domain(host: str, domain: str) -> bool:
    return host == domain or host.endswith(f".{domain}")


def _webauthn_origins(raw: str) -> tuple[str, ...]:
    origins = _origins(raw)
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path:
            msg = f"{origin!r} is not an origin such as https://id.example.org"
            raise ValueError(msg)
    if not origins:
        msg = "must name at least one origin"
        raise ValueError(msg)
    return origins


_DECLARATION: Final = "usermgmt.setting"
"""The key of a field's metadata that holds its :class:`_Declaration`."""


@attrs.frozen(kw_only=True)
class _Declaration:
    parse: Callable[[str], object]
    help: str
    metavar: str
    flag: str | None
    secret: bool
    shown_default: str | None


def setting(
    default: T,
    parse: Callable[[str], T],
    help: str,  # noqa: A002 - the word the declaration is read by
    *,
    metavar: str = "TEXT",
    flag: str | None = None,
    secret: bool = False,
    shown_default: str | None = None,
    converter: Callable[[Any], T] | None = None,
) -> T:
    """Declare a field of :class:`Settings`: the one place a setting is written.

    Args:
        default: the value when neither variable nor flag is given (an
            ``attrs.Factory`` for one computed at run time).
        parse: turns the variable's (or flag's) stripped text into the value;
            raises ``ValueError`` with what is wrong.
        help: one sentence for ``serve --help``.
        metavar: what the flag's value is called in ``serve --help``.
        flag: the flag, if not ``--`` and the name with dashes (a switch
            writes both forms: ``"--migrate/--no-migrate"``).
        secret: kept out of ``repr()`` (the value still reaches the workers).
        shown_default: the default as ``serve --help`` shows it, if not the value.
        converter: turns what a program passes to ``Settings(...)`` into the
            field's type (say, one path where the field holds several).
    """
    declaration = _Declaration(
        parse=parse,
        help=help,
        metavar=metavar,
        flag=flag,
        secret=secret,
        shown_default=shown_default,
    )
    field: T = attrs.field(
        default=default,
        repr=not secret,
        metadata={_DECLARATION: declaration},
        converter=converter,
    )
    return field


@attrs.frozen(kw_only=True)
class Setting:
    """One declared setting, as the environment, ``serve`` and the README name it."""

    name: str
    """The field of :class:`Settings`."""
    variable: str
    """The environment variable: ``USERMGMT_`` and the name in capitals."""
    flag: str
    """The ``serve`` flag (``--a/--no-a`` for a switch)."""
    switch: bool
    """Whether the setting is true or false (its flag takes no value)."""
    parse: Callable[[str], object]
    help: str
    metavar: str
    secret: bool
    shown_default: str
    """The default as ``serve --help`` shows it."""


def as_text(value: object) -> str:
    """Return *value* as its variable holds it (what the setting's parser reads back)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(str(item) for item in value)
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


@attrs.frozen(kw_only=True)
class Settings:
    """Every setting of usermgmt; see the README's configuration table."""

    database_url: str | None = setting(
        None,
        str,
        "PostgreSQL URL.",
        metavar="URL",
        shown_default="the embedded database",
    )
    migrations_database_url: str | None = setting(
        None,
        str,
        "PostgreSQL URL for migrations, when the main one goes through a pooler.",
        metavar="URL",
        shown_default="the database URL",
    )
    env: Environment = setting(
        Environment.DEVELOPMENT,
        Environment,
        "production refuses to start without a signing key.",
        metavar="[development|production]",
    )
    jwt_secret: str | None = setting(
        None,
        str,
        "HS256 signing secret, at least 32 bytes (prefer the variable: flags show up in "
        "process listings).",
        metavar="SECRET",
        secret=True,
        shown_default="development: generated and stored in the data directory",
    )
    jwt_private_key: tuple[Path, ...] = setting(
        (),
        _paths,
        "Comma-separated Ed25519 private key files: the first signs (EdDSA), every one "
        "verifies and is published at /.well-known/jwks.json.",
        metavar="PEM[,PEM...]",
        converter=_key_paths,
    )
    jwt_previous_secrets: tuple[str, ...] = setting(
        (),
        _secrets,
        "Comma-separated earlier HS256 secrets: tokens they signed still verify, but they "
        "never sign.",
        metavar="SECRET[,SECRET...]",
        secret=True,
        shown_default="none",
    )
    jwt_issuer: str = setting("usermgmt", str, "The iss claim of access tokens.", metavar="NAME")
    jwt_audience: str = setting("usermgmt", str, "The aud claim of access tokens.", metavar="NAME")
    access_token_ttl: int = setting(900, _positive, "Access token lifetime.", metavar="SECONDS")
    refresh_token_ttl: int = setting(
        2_592_000, _positive, "Session (refresh token) lifetime.", metavar="SECONDS"
    )
    password_min_length: int = setting(8, _positive, "Minimum password length.", metavar="N")
    rate_limit_per_minute: int = setting(
        60,
        _not_negative,
        "Requests per client IP and minute on login, refresh, logout and register; 0 disables.",
        metavar="N",
    )
    login_max_failures: int = setting(
        5,
        _not_negative,
        "Failed logins on one account from one client before it is throttled.",
        metavar="N",
    )
    login_max_failures_per_account: int = setting(
        100,
        _not_negative,
        "Failed logins on one account from all clients before every client is throttled.",
        metavar="N",
    )
    mfa_max_failures: int = setting(
        5,
        _positive,
        "Wrong second-factor codes on one account before it backs off (429).",
        metavar="N",
    )
    totp_issuer: str = setting(
        "usermgmt", _issuer, "The issuer authenticator apps show beside a TOTP key.", metavar="NAME"
    )
    refresh_reuse_grace: int = setting(
        10,
        _not_negative,
        "Grace after a rotation in which the spent refresh token is refused without ending "
        "the session; 0 disables.",
        metavar="SECONDS",
    )
    audit_retention_days: int = setting(
        365,
        _positive,
        "Days audit rows are kept; the running service purges older ones daily.",
        metavar="DAYS",
    )
    cors_origins: tuple[str, ...] = setting(
        (),
        _origins,
        "Comma-separated origins allowed by CORS.",
        metavar="ORIGINS",
        shown_default="none, CORS closed",
    )
    redis_url: str | None = setting(
        None,
        str,
        "Redis for the rate-limit windows and login counters shared across instances.",
        metavar="URL",
        secret=True,
        shown_default="PostgreSQL",
    )
    redis_key_prefix: str = setting(
        "",
        str,
        "Prepended to every key usermgmt writes in Redis, so that several deployments can "
        "share one Redis database.",
        metavar="PREFIX",
    )
    argon2_time_cost: int = setting(3, _positive, "argon2id passes over memory.", metavar="N")
    argon2_memory_cost: int = setting(
        65_536, _positive, "argon2id memory per hash, in KiB.", metavar="KIB"
    )
    argon2_parallelism: int = setting(4, _positive, "argon2id lanes per hash.", metavar="N")
    hash_concurrency: int | None = setting(
        None,
        _positive,
        "Password hashes one process computes at once; more wait in a queue of about 2 "
        "seconds, beyond which logins are refused with 503. Fewer leave more CPU to reads "
        "while logins pour in, more give logins more of it.",
        metavar="N",
        shown_default="one per CPU core",
    )
    database_pool_size: int = setting(
        10, _positive, "PostgreSQL connections per process.", metavar="N"
    )
    migrate_on_start: bool = setting(
        True,  # noqa: FBT003 - the default of the setting, not a flag argument
        _boolean,
        "Apply pending migrations at start-up.",
        flag="--migrate/--no-migrate",
    )
    data_dir: Path = setting(
        attrs.Factory(default_data_dir),
        Path,
        "The embedded database and the development secret live here.",
        metavar="DIR",
        shown_default="$XDG_DATA_HOME/usermgmt",
    )
    host: str = setting("127.0.0.1", str, "Address to listen on.", metavar="ADDRESS")
    port: int = setting(8000, _port, "Port to listen on.", metavar="PORT")
    workers: int = setting(1, _positive, "Worker processes.", metavar="N")
    metrics: bool = setting(
        False,  # noqa: FBT003 - the default of the setting, not a flag argument
        _boolean,
        "Serve Prometheus metrics at /metrics.",
    )
    log_format: LogFormat = setting(
        LogFormat.TEXT,
        _log_format,
        "text: one line per event; json: one JSON object per line.",
        metavar="[text|json]",
    )
    trusted_proxies: tuple[str, ...] = setting(
        (),
        parse_networks,
        "Comma-separated proxy addresses or networks whose X-Forwarded-For, "
        "X-Forwarded-Proto and X-Request-ID are believed.",
        metavar="NETWORKS",
        shown_default="none",
    )
    app_url: str = setting(
        "http://127.0.0.1:8000",
        _app_url,
        "Base of the links in mail (never taken from a request's Host header).",
        metavar="URL",
    )
    mail_url: str | None = setting(
        None,
        str,
        "Where mail goes: smtp://, smtp+tls://, smtps://[user:password@]host[:port], "
        "file:///directory, console: (the log) or disabled.",
        metavar="URL",
        secret=True,
        shown_default="console: in development; required in production",
    )
    mail_from: str = setting(
        "usermgmt <no-reply@localhost>", _mail_from, "The sender of every mail.", metavar="MAILBOX"
    )
    mail_max_attempts: int = setting(
        10, _positive, "Delivery attempts before a message is marked failed.", metavar="N"
    )
    reset_ttl: int = setting(
        1800, _positive, "Seconds a password-reset link stays valid.", metavar="SECONDS"
    )
    email_verification: VerificationMode = setting(
        VerificationMode.OPTIONAL,
        _verification_mode,
        "off: no links; optional: links mailed, unverified users sign in; "
        "required: unverified users are refused at login.",
        metavar="[off|optional|required]",
    )
    verification_ttl: int = setting(
        86400,
        _positive,
        "Seconds an email-verification or email-change link stays valid.",
        metavar="SECONDS",
    )
    mail_templates: Path | None = setting(
        None,
        Path,
        "A directory whose <kind>.txt (and .html) templates replace the shipped ones.",
        metavar="DIR",
        shown_default="the shipped templates",
    )
    webauthn_rp_id: str = setting(
        "localhost",
        _rp_id,
        "The passkeys' relying party id: the site's domain (or a parent domain of it).",
        metavar="DOMAIN",
    )
    webauthn_rp_name: str = setting(
        "usermgmt", str, "The name a passkey prompt shows for the site.", metavar="NAME"
    )
    webauthn_origins: tuple[str, ...] = setting(
        ("http://localhost:8000",),
        _webauthn_origins,
        "Comma-separated origins of the pages that may run passkey ceremonies.",
        metavar="ORIGINS",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the ``USERMGMT_*`` variables of *environ* (default: ``os.environ``).

        An unset or blank variable leaves its default.

        Raises:
            ConfigurationError: a variable holds a value of the wrong form.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for declared in DECLARED:
            raw = env.get(declared.variable)
            if raw is None or raw.strip() == "":
                continue
            try:
                values[declared.name] = declared.parse(raw.strip())
            except ValueError as exc:
                msg = f"{declared.variable}={raw!r} is not valid: {exc}"
                raise ConfigurationError(msg) from None
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """Return the ``USERMGMT_*`` variables that make ``Settings.from_env`` return these.

        Unset (``None``) settings are left out, so that their defaults apply.
        """
        return {
            declared.variable: as_text(value)
            for declared in DECLARED
            if (value := getattr(self, declared.name)) is not None
        }

    def evolve(self, **changes: object) -> Settings:
        """Return these settings with *changes* (``None`` values are ignored: "flag not given")."""
        given = {k: v for k, v in changes.items() if v is not None}
        return attrs.evolve(self, **given)  # type: ignore[arg-type]  # names are checked by attrs

    @property
    def effective_mail_url(self) -> str:
        """``USERMGMT_MAIL_URL``, or ``console:`` where none is set (development)."""
        return self.mail_url or "console:"

    @property
    def mail_enabled(self) -> bool:
        """Whether the service sends mail at all (``USERMGMT_MAIL_URL`` is not ``disabled``)."""
        return self.effective_mail_url.strip() != "disabled"

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
        if self.jwt_previous_secrets and self.jwt_private_key:
            msg = (
                "USERMGMT_JWT_PREVIOUS_SECRETS verify HS256 tokens, which an Ed25519 key "
                "(USERMGMT_JWT_PRIVATE_KEY) never accepts: unset one of them"
            )
            raise ConfigurationError(msg)
        short = [
            name
            for name, secrets in (
                ("USERMGMT_JWT_SECRET", (self.jwt_secret,) if self.jwt_secret else ()),
                ("USERMGMT_JWT_PREVIOUS_SECRETS", self.jwt_previous_secrets),
            )
            if any(len(secret.encode()) < MIN_SECRET_BYTES for secret in secrets)
        ]
        for name in short:  # the message names the variable, never the secret
            msg = f"{name} holds a secret shorter than {MIN_SECRET_BYTES} bytes"
            if self.is_production:
                raise ConfigurationError(msg + ": refused in production")
            log.warning("%s; acceptable only in development", msg)
        if self.argon2_memory_cost < 8 * self.argon2_parallelism:
            msg = "USERMGMT_ARGON2_MEMORY_COST must be at least 8 KiB per lane of parallelism"
            raise ConfigurationError(msg)
        outside = [
            origin
            for origin in self.webauthn_origins
            if not _under_domain(urlsplit(origin).hostname or "", self.webauthn_rp_id)
        ]
        if outside:
            msg = (
                f"USERMGMT_WEBAUTHN_ORIGINS: {outside[0]} is not on USERMGMT_WEBAUTHN_RP_ID "
                f"{self.webauthn_rp_id} or a subdomain of it, so no browser would run a "
                "passkey ceremony there"
            )
            raise ConfigurationError(msg)


def _declared() -> tuple[Setting, ...]:
    attrs.resolve_types(Settings)
    declared = []
    for field in attrs.fields(Settings):
        declaration: _Declaration = field.metadata[_DECLARATION]
        switch = field.type is bool
        default = field.default
        shown = declaration.shown_default
        if shown is None:
            shown = "none" if default is None or default in ("", ()) else as_text(default)
        dashed = field.name.replace("_", "-")
        declared.append(
            Setting(
                name=field.name,
                variable=f"USERMGMT_{field.name.upper()}",
                flag=declaration.flag or (f"--{dashed}/--no-{dashed}" if switch else f"--{dashed}"),
                switch=switch,
                parse=declaration.parse,
                help=declaration.help,
                metavar=declaration.metavar,
                secret=declaration.secret,
                shown_default=shown,
            )
        )
    return tuple(declared)


DECLARED: Final = _declared()
"""Every setting, in the order of the fields of :class:`Settings`."""
