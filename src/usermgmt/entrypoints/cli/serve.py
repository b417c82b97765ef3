"""``usermgmt serve``: the HTTP API on uvicorn.

Settings come from the ``USERMGMT_*`` environment, and every flag overrides
its variable. The command checks the settings, starts the embedded database
when no URL is given, applies pending migrations once, and then hands the
final settings to uvicorn's workers through their environment: each worker
process builds its application with ``create_app_from_env``, so one worker
or sixteen, every one of them runs with exactly the same settings.
"""

from __future__ import annotations

import enum
import importlib.util
import logging.config
import os
import signal
from pathlib import Path
from typing import Annotated, Any, Final

import anyio
import attrs
import typer
import uvicorn

from usermgmt import Environment, Settings, UserManagement, UserMgmtError
from usermgmt.settings import LogFormat, parse_networks

APP_FACTORY: Final = "usermgmt.entrypoints.http.app:create_app_from_env"
"""What each uvicorn worker imports and calls to build its application."""

LOG_CONFIG: Final[dict[str, Any]] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "stream": "ext://sys.stderr",
        },
    },
    # Every other logger (psycopg, psycopg.pool, litestar, Python's warnings) reaches the
    # root's handler: without one, logging's last resort would print the bare message.
    "root": {"handlers": ["stderr"], "level": "WARNING"},
    "loggers": {
        "usermgmt": {"level": "INFO"},
        "uvicorn": {"level": "INFO"},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}
"""One line per event on stderr, in one format for every library.

usermgmt logs each request itself (uvicorn's access log is off)."""


def log_config(log_format: LogFormat) -> dict[str, Any]:
    """Return :data:`LOG_CONFIG` with the formatter that *log_format* names."""
    if log_format is LogFormat.TEXT:
        return LOG_CONFIG
    json_formatter = {"()": "usermgmt.entrypoints.logformat.JsonFormatter"}
    return {**LOG_CONFIG, "formatters": {"plain": json_formatter}}


def settings_environment(settings: Settings) -> dict[str, str]:
    """Return the ``USERMGMT_*`` variables that make ``Settings.from_env`` return *settings*.

    Unset (``None``) settings are left out, so that their defaults apply.
    """
    variables = {}
    for field in attrs.fields(Settings):
        value = getattr(settings, field.name)
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, tuple):
            text = ",".join(value)
        elif isinstance(value, enum.Enum):
            text = str(value.value)
        else:
            text = str(value)
        variables[f"USERMGMT_{field.name.upper()}"] = text
    return variables


def _fail(message: str) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(1)


def _prepare(settings: Settings) -> UserManagement:
    """Check *settings*, build the service (starting an embedded database) and migrate.

    The service is returned unopened: it only keeps the embedded server
    alive while uvicorn runs.
    """
    settings.check()
    service = UserManagement.from_settings(settings)
    service.jwks()  # loads the signing key now: a bad key must stop start-up, not the first login
    if settings.migrate_on_start:
        applied = anyio.run(service.migrate)
        for migration in applied:
            logging.getLogger("usermgmt").info(
                "applied migration %04d_%s", migration.version, migration.name
            )
    return service


def serve(  # noqa: PLR0913, PLR0917 - one parameter per setting: the configuration table is the interface
    host: Annotated[
        str | None,
        typer.Option(help="Address to listen on. (env: USERMGMT_HOST; default: 127.0.0.1)"),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            min=1, max=65535, help="Port to listen on. (env: USERMGMT_PORT; default: 8000)"
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Worker processes. (env: USERMGMT_WORKERS; default: 1)"),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            metavar="URL",
            help="PostgreSQL URL. (env: USERMGMT_DATABASE_URL; default: the embedded database)",
        ),
    ] = None,
    env: Annotated[
        Environment | None,
        typer.Option(
            "--env",
            help="production refuses to start without a signing key. "
            "(env: USERMGMT_ENV; default: development)",
        ),
    ] = None,
    jwt_secret: Annotated[
        str | None,
        typer.Option(
            metavar="SECRET",
            help="HS256 signing secret, at least 32 bytes (prefer the variable: flags show up "
            "in process listings). (env: USERMGMT_JWT_SECRET)",
        ),
    ] = None,
    jwt_private_key: Annotated[
        Path | None,
        typer.Option(
            metavar="PEM",
            help="Ed25519 private key file: signs with EdDSA and serves /.well-known/jwks.json. "
            "(env: USERMGMT_JWT_PRIVATE_KEY)",
        ),
    ] = None,
    access_token_ttl: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="SECONDS",
            help="Access token lifetime. (env: USERMGMT_ACCESS_TOKEN_TTL; default: 900)",
        ),
    ] = None,
    refresh_token_ttl: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="SECONDS",
            help="Session (refresh token) lifetime. (env: USERMGMT_REFRESH_TOKEN_TTL; "
            "default: 2592000)",
        ),
    ] = None,
    password_min_length: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Minimum password length. (env: USERMGMT_PASSWORD_MIN_LENGTH; default: 8)",
        ),
    ] = None,
    rate_limit_per_minute: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Requests per client IP and minute on login, refresh, logout and register; "
            "0 disables. (env: USERMGMT_RATE_LIMIT_PER_MINUTE; default: 60)",
        ),
    ] = None,
    login_max_failures: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Failed logins on one account from one client before it is throttled. "
            "(env: USERMGMT_LOGIN_MAX_FAILURES; default: 5)",
        ),
    ] = None,
    login_max_failures_per_account: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Failed logins on one account from all clients before every client is "
            "throttled. (env: USERMGMT_LOGIN_MAX_FAILURES_PER_ACCOUNT; default: 100)",
        ),
    ] = None,
    refresh_reuse_grace: Annotated[
        int | None,
        typer.Option(
            min=0,
            metavar="SECONDS",
            help="Grace after a rotation in which the spent refresh token is refused without "
            "ending the session; 0 disables. (env: USERMGMT_REFRESH_REUSE_GRACE; default: 10)",
        ),
    ] = None,
    cors_origins: Annotated[
        str | None,
        typer.Option(
            metavar="ORIGINS",
            help="Comma-separated origins allowed by CORS. (env: USERMGMT_CORS_ORIGINS; "
            "default: none, CORS closed)",
        ),
    ] = None,
    redis_url: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="Redis for the rate-limit windows shared across instances. "
            "(env: USERMGMT_REDIS_URL; default: PostgreSQL)",
        ),
    ] = None,
    redis_key_prefix: Annotated[
        str | None,
        typer.Option(
            metavar="PREFIX",
            help="Prepended to every key usermgmt writes in Redis, so that several deployments "
            "can share one Redis database. (env: USERMGMT_REDIS_KEY_PREFIX; default: none)",
        ),
    ] = None,
    log_format: Annotated[
        LogFormat | None,
        typer.Option(
            "--log-format",
            help="text: one line per event; json: one JSON object per line. "
            "(env: USERMGMT_LOG_FORMAT; default: text)",
        ),
    ] = None,
    trusted_proxies: Annotated[
        str | None,
        typer.Option(
            metavar="NETWORKS",
            help="Comma-separated proxy addresses or networks whose X-Forwarded-For, "
            "X-Forwarded-Proto and X-Request-ID are believed. (env: USERMGMT_TRUSTED_PROXIES; "
            "default: none)",
        ),
    ] = None,
    no_migrate: Annotated[
        bool,
        typer.Option(
            "--no-migrate",
            help="Do not apply pending migrations at start-up. (env: USERMGMT_MIGRATE_ON_START)",
        ),
    ] = False,
) -> None:
    """Serve the HTTP API on uvicorn; flags override the USERMGMT_* environment."""
    logging.config.dictConfig(LOG_CONFIG)
    logging.captureWarnings(capture=True)  # warnings.warn() too, through the same handler
    try:
        settings = Settings.from_env()
        log_format = log_format or settings.log_format
        logging.config.dictConfig(log_config(log_format))
        settings = settings.evolve(
            host=host,
            port=port,
            workers=workers,
            database_url=database_url,
            env=env,
            jwt_secret=jwt_secret,
            jwt_private_key=jwt_private_key,
            access_token_ttl=access_token_ttl,
            refresh_token_ttl=refresh_token_ttl,
            password_min_length=password_min_length,
            rate_limit_per_minute=rate_limit_per_minute,
            login_max_failures=login_max_failures,
            login_max_failures_per_account=login_max_failures_per_account,
            refresh_reuse_grace=refresh_reuse_grace,
            cors_origins=_origins(cors_origins),
            redis_url=redis_url,
            redis_key_prefix=redis_key_prefix,
            log_format=log_format,
            trusted_proxies=_networks(trusted_proxies),
            migrate_on_start=False if no_migrate else None,
        )
        service = _prepare(settings)
    except UserMgmtError as exc:
        raise _fail(str(exc)) from None
    # Migrated once, here: the workers skip it, and all of them read the same settings. The
    # service's settings name the database it opened, the embedded one included, so workers
    # connect to it by URL and only this process owns (and finally stops) an embedded server.
    os.environ.update(settings_environment(service.settings.evolve(migrate_on_start=False)))
    # uvicorn ends by re-raising the SIGTERM it caught; exiting through SystemExit instead
    # runs the exit handlers, which stop the embedded server.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    from usermgmt.entrypoints.http.protocol import (  # noqa: PLC0415 - keeps Litestar out of every other command
        BoundedHttpToolsProtocol,
    )

    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http=BoundedHttpToolsProtocol,  # httptools, with bounded request heads
        lifespan="on",
        access_log=False,
        log_config=log_config(settings.log_format),
        server_header=False,
        proxy_headers=False,  # the client is the socket's peer: no forwarded header is believed
    )
    del service  # kept alive until here: it owns the embedded server, if any


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _networks(raw: str | None) -> tuple[str, ...] | None:
    if raw is None:
        return None
    try:
        return parse_networks(raw)
    except ValueError as exc:
        raise _fail(f"--trusted-proxies={raw!r} is not valid: {exc}") from None


def _origins(raw: str | None) -> tuple[str, ...] | None:
    if raw is None:
        return None
    return tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
