"""The ``usermgmt`` command: the root Typer app that joins every group.

``serve`` lives in :mod:`usermgmt.entrypoints.cli.serve`, next to the HTTP
app it runs; it is registered here whenever that module is installed.
"""

from __future__ import annotations

import importlib
from typing import Annotated, Final

import typer

from usermgmt import __version__
from usermgmt.entrypoints.cli import db, sessions, users
from usermgmt.entrypoints.cli.context import ServiceOpener

_SERVE_MODULE: Final = "usermgmt.entrypoints.cli.serve"

app = typer.Typer(
    name="usermgmt",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold passwords and URLs with secrets
    help=(
        "Administer usermgmt: users, sessions and the database schema; serve the HTTP API.\n\n"
        "Commands that touch data take --database-url (or USERMGMT_DATABASE_URL) and "
        "otherwise use the embedded database. Exit status: 0 success, 1 refused by "
        "usermgmt (not found, conflict, invalid), 2 usage error."
    ),
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"usermgmt {__version__}")
        raise typer.Exit


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[  # noqa: ARG001 - handled eagerly by its callback
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_show_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Prepare the service for the command: built and opened only if it is used."""
    ctx.obj = ServiceOpener(ctx)


def _register_serve() -> None:
    """Add ``serve`` when its module is present (it ships with the HTTP API)."""
    try:
        module = importlib.import_module(_SERVE_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != _SERVE_MODULE:
            raise  # serve exists but something it needs is missing: say so
        return
    app.command("serve")(module.serve)


_register_serve()
app.add_typer(users.app, name="users")
app.add_typer(sessions.app, name="sessions")
app.add_typer(db.app, name="db")


def main() -> None:
    """Run the ``usermgmt`` console script."""
    app()
