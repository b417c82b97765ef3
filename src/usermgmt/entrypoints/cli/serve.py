"""``usermgmt serve``: the HTTP API on uvicorn.

Settings come from the ``USERMGMT_*`` environment, and every flag overrides
its variable: the flags are derived from the declarations in
:mod:`usermgmt.settings`, one per setting, read by the same parsers. The
command checks the settings, starts the embedded database when no URL is
given, applies pending migrations once, and then hands the final settings to
uvicorn's workers through their environment: each worker process builds its
application with ``create_app_from_env``, so one worker or sixteen, every one
of them runs with exactly the same settings.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging.config
import os
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Final

import anyio
import typer

from usermgmt import Settings, UserMgmtError
from usermgmt.entrypoints.cli.multiproc import metrics_directory
from usermgmt.entrypoints.footprint import load_token_library, spawned_without_main
from usermgmt.settings import DECLARED, LogFormat, Setting

if TYPE_CHECKING:
    from usermgmt import UserManagement

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
    """Return the ``USERMGMT_*`` variables that make ``Settings.from_env`` return *settings*."""
    return settings.to_env()


def _fail(message: str) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(1)


def _prepare(settings: Settings) -> UserManagement:
    """Check *settings*, build the service (starting an embedded database) and migrate.

    The service is returned unopened: it only keeps the embedded server
    alive while uvicorn runs.
    """
    from usermgmt import UserManagement  # noqa: PLC0415 - the core loads only for serve itself

    settings.check()
    load_token_library(settings)  # this process serves these settings alone
    service = UserManagement.from_settings(settings)
    service.jwks()  # loads the signing key now: a bad key must stop start-up, not the first login
    service.prepare_mail()  # likewise the mail URL and templates, before the first mail
    if settings.migrate_on_start:
        applied = anyio.run(service.migrate)
        for migration in applied:
            logging.getLogger("usermgmt").info(
                "applied migration %04d_%s", migration.version, migration.name
            )
    return service


def serve(**flags: object) -> None:
    """Serve the HTTP API on uvicorn; flags override the USERMGMT_* environment."""
    logging.config.dictConfig(LOG_CONFIG)
    logging.captureWarnings(capture=True)  # warnings.warn() too, through the same handler
    try:
        settings = Settings.from_env().evolve(**flags)
        logging.config.dictConfig(log_config(settings.log_format))
        service = _prepare(settings)
    except UserMgmtError as exc:
        raise _fail(str(exc)) from None
    # Migrated once, here: the workers skip it, and all of them read the same settings. The
    # service's settings name the database it opened, the embedded one included, so workers
    # connect to it by URL and only this process owns (and finally stops) an embedded server.
    os.environ.update(service.settings.evolve(migrate_on_start=False).to_env())
    # uvicorn ends by re-raising the SIGTERM it caught; exiting through SystemExit instead
    # runs the exit handlers, which stop the embedded server.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    from usermgmt.entrypoints.cli import workers  # noqa: PLC0415 - uvicorn loads for serve only
    from usermgmt.entrypoints.http.protocol import (  # noqa: PLC0415 - keeps Litestar out of every other command
        BoundedHttpToolsProtocol,
    )

    # Several workers with metrics: a fresh directory shared by their metrics, removed at exit.
    with metrics_directory(settings, os.environ), spawned_without_main(active=settings.workers > 1):
        try:
            workers.run(
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
                proxy_headers=False,  # the client is the socket's peer: no forwarded header
            )
        except workers.CannotListenError as exc:
            raise _fail(str(exc)) from None
    del service  # kept alive until here: it owns the embedded server, if any


def _flag_parser(declared: Setting) -> Callable[[str], object]:
    """Return the parser of *declared* for its flag: a wrong value is a usage error."""

    def parse(raw: str) -> object:
        try:
            return declared.parse(raw.strip())
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None

    return parse


def _option(declared: Setting) -> inspect.Parameter:
    """Return the ``serve`` parameter of *declared*: its flag, parser and help."""
    help_text = f"{declared.help} (env: {declared.variable}; default: {declared.shown_default})"
    option: object
    if declared.switch:
        option = Annotated[
            bool | None, typer.Option(declared.flag, help=help_text, show_default=False)
        ]
    else:
        option = Annotated[
            str | None,
            typer.Option(
                declared.flag,
                parser=_flag_parser(declared),
                metavar=declared.metavar,
                help=help_text,
                show_default=False,
            ),
        ]
    return inspect.Parameter(
        declared.name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=option
    )


# Typer reads a command's parameters from its signature: this one is derived from the
# declarations, one flag per setting, each ``None`` unless given.
serve.__signature__ = inspect.Signature(  # type: ignore[attr-defined]  # read by inspect.signature
    [_option(declared) for declared in DECLARED], return_annotation=None
)


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)
