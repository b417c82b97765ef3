"""The ``usermgmt`` command: the root Typer app that joins every group."""

from __future__ import annotations

from typing import Annotated

import typer

from usermgmt.entrypoints.cli import audit, db, keys, sessions, users
from usermgmt.entrypoints.cli.context import ServiceOpener
from usermgmt.entrypoints.cli.serve import serve

app = typer.Typer(
    name="usermgmt",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold passwords and URLs with secrets
    help=(
        "Administer usermgmt: users, sessions, the audit log, signing keys and the database "
        "schema; serve the HTTP API.\n\n"
        "Commands that touch data take --database-url (or USERMGMT_DATABASE_URL) and "
        "otherwise use the embedded database. Exit status: 0 success, 1 refused by "
        "usermgmt (not found, conflict, invalid), 2 usage error."
    ),
)


def _show_version(value: bool) -> None:
    if value:
        from usermgmt import __version__  # noqa: PLC0415 - reads the package metadata, on demand

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


app.command("serve")(serve)
app.add_typer(users.app, name="users")
app.add_typer(sessions.app, name="sessions")
app.add_typer(audit.app, name="audit")
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")


def main() -> None:
    """Run the ``usermgmt`` console script."""
    app()
