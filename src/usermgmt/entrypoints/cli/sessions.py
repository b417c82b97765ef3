"""``usermgmt sessions``: end a user's sessions."""

from __future__ import annotations

from typing import Annotated

import typer

from usermgmt import SYSTEM
from usermgmt.entrypoints.cli.context import DatabaseUrl, opener
from usermgmt.entrypoints.cli.errors import handle_errors

app = typer.Typer(no_args_is_help=True, help="End users' sessions.")


@app.command("revoke")
@handle_errors
def revoke(
    ctx: typer.Context,
    user: Annotated[
        str,
        typer.Argument(
            metavar="USER", show_default=False, help="The user's id (a UUID) or email address."
        ),
    ],
    database_url: DatabaseUrl = None,
) -> None:
    """End every session of a user: sign out everywhere, at once.

    Their access and refresh tokens are refused from the next request on, by
    every instance of the API; the account itself stays usable.

    Example:
        usermgmt sessions revoke ann@example.org
    """
    um = opener(ctx).open(database_url)
    target = um.find_user(user, actor=SYSTEM)
    ended = um.revoke_sessions(target.id, actor=SYSTEM)
    noun = "session" if ended == 1 else "sessions"
    typer.echo(f"Ended {ended} {noun} of {target.email}.")
