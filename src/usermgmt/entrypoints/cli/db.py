"""``usermgmt db``: apply migrations, or show which are applied and which pending."""

from __future__ import annotations

from datetime import UTC

import typer

from usermgmt.entrypoints.cli.context import DatabaseUrl, opener
from usermgmt.entrypoints.cli.errors import handle_errors
from usermgmt.entrypoints.cli.render import console, simple_table

app = typer.Typer(no_args_is_help=True, help="Bring the database schema up to date.")


@app.command("migrate")
@handle_errors
def migrate(ctx: typer.Context, database_url: DatabaseUrl = None) -> None:
    """Apply every pending migration, each in its own transaction.

    Safe to run from several processes at once: they queue on a lock, and the
    later ones find nothing left to do.

    Example:
        usermgmt db migrate --database-url postgresql://postgres@localhost:5432/app
    """
    um = opener(ctx).open(database_url, migrate=False)
    applied = um.migrate()
    for migration in applied:
        typer.echo(f"Applied {migration.version:04d}_{migration.name}.")
    if not applied:
        typer.echo("Nothing to apply: the database is up to date.")


@app.command("status")
@handle_errors
def status(ctx: typer.Context, database_url: DatabaseUrl = None) -> None:
    """List every migration, applied (with when) or pending; changes nothing.

    Example:
        usermgmt db status
    """
    um = opener(ctx).open(database_url, migrate=False)
    states = um.migration_status()
    table = simple_table()
    table.add_column("VERSION")
    table.add_column("NAME")
    table.add_column("APPLIED (UTC)")
    for state in states:
        applied = (
            "pending"
            if state.applied_at is None
            else state.applied_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        )
        table.add_row(f"{state.version:04d}", state.name, applied)
    out = console()
    out.print(table)
    pending = sum(1 for state in states if state.applied_at is None)
    out.print(f"{len(states) - pending} applied, {pending} pending.")
