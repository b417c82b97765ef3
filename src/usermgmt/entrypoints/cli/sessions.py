"""``usermgmt sessions``: list a user's sessions, end one of them or all."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

import typer

from usermgmt import SYSTEM, Session, SessionId, SessionNotFoundError
from usermgmt.entrypoints.cli.context import DatabaseUrl, opener
from usermgmt.entrypoints.cli.errors import fail, handle_errors
from usermgmt.entrypoints.cli.render import console, printable, rfc3339, simple_table, to_json

app = typer.Typer(no_args_is_help=True, help="List and end users' sessions.")

UserRef = Annotated[
    str,
    typer.Argument(
        metavar="USER", show_default=False, help="The user's id (a UUID) or email address."
    ),
]


def session_json(session: Session) -> dict[str, object]:
    """Return *session* with the fields of ``GET /api/users/{id}/sessions`` (``current`` false)."""
    return {
        "id": str(session.id),
        "created_at": rfc3339(session.created_at),
        "last_used_at": rfc3339(session.last_used_at),
        "expires_at": rfc3339(session.expires_at),
        "ip": session.ip,
        "user_agent": session.user_agent,
        "amr": list(session.amr),
        "current": False,
    }


def _session_id(raw: str | None) -> UUID | None:
    """Parse ``--session``: a session id is a UUID, anything else is a usage error."""
    if raw is None:
        return None
    try:
        return UUID(raw)
    except ValueError:
        msg = f"{raw!r} is not a session id (a UUID, as `sessions list` shows them)"
        raise typer.BadParameter(msg) from None


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@app.command("list")
@handle_errors
def list_sessions(
    ctx: typer.Context,
    user: UserRef,
    json: Annotated[
        bool,
        typer.Option("--json", help="Print JSON (the HTTP API's fields) instead of a table."),
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """List a user's live sessions, newest first: when and where each began, when last used.

    --json prints one JSON array, one session per line, with the fields of
    GET /api/users/{id}/sessions. A token is never shown.

    Example:
        usermgmt sessions list ann@example.org
        usermgmt sessions list ann@example.org --json
    """
    um = opener(ctx).open(database_url)
    target = um.find_user(user, actor=SYSTEM)
    found = um.list_sessions(target.id, actor=SYSTEM)
    if json:
        typer.echo("[" + ",\n".join(to_json(session_json(s)) for s in found) + "]")
        return
    if not found:
        typer.echo(f"No live sessions of {printable(target.email.value)}.")
        return
    table = simple_table()
    for title in ("ID", "CREATED (UTC)", "LAST USED (UTC)", "EXPIRES (UTC)", "IP", "AMR"):
        table.add_column(title, overflow="fold", no_wrap=title != "ID")
    table.add_column("USER AGENT", overflow="fold")
    for session in found:
        table.add_row(
            str(session.id),
            _when(session.created_at),
            _when(session.last_used_at),
            _when(session.expires_at),
            printable(session.ip or ""),
            ",".join(session.amr),
            printable(session.user_agent or ""),
        )
    console().print(table)


@app.command("revoke")
@handle_errors
def revoke(
    ctx: typer.Context,
    user: UserRef,
    session: Annotated[
        UUID | None,
        typer.Option(
            "--session",
            metavar="ID",
            parser=_session_id,
            show_default=False,
            help="End only this session (an id from `sessions list`); default: every session.",
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """End every session of a user (sign out everywhere, at once), or only one with --session.

    Their access and refresh tokens are refused from the next request on, by
    every instance of the API; the account itself stays usable. A --session
    that is not one of the user's live sessions exits 1 and ends nothing.

    Example:
        usermgmt sessions revoke ann@example.org
        usermgmt sessions revoke ann@example.org --session 3f2c9a4e-8b1d-4c6e-9f00-2a7d5e1b4c3a
    """
    um = opener(ctx).open(database_url)
    target = um.find_user(user, actor=SYSTEM)
    session_id = None if session is None else SessionId(session)
    try:
        ended = um.revoke_sessions(target.id, actor=SYSTEM, session_id=session_id)
    except SessionNotFoundError:
        raise fail(f"No live session {session} of {target.email}: nothing ended.") from None
    if session_id is not None:
        typer.echo(f"Ended session {session_id} of {target.email}.")
        return
    noun = "session" if ended == 1 else "sessions"
    typer.echo(f"Ended {ended} {noun} of {target.email}.")
