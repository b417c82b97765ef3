"""``usermgmt audit``: read the audit log, and purge its oldest rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Final
from uuid import UUID

import typer

from usermgmt import SYSTEM, AuditEntry, UserId
from usermgmt.entrypoints.cli.context import DatabaseUrl, opener
from usermgmt.entrypoints.cli.errors import handle_errors
from usermgmt.entrypoints.cli.render import console, printable, rfc3339, simple_table, to_json

if TYPE_CHECKING:
    from usermgmt import BlockingUserManagement

app = typer.Typer(no_args_is_help=True, help="Read and purge the audit log.")

_PAGE: Final = 100


def _moment(raw: str) -> datetime:
    """Parse an ISO 8601 time (or date); without an offset it is UTC."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        msg = f"{raw!r} is not an ISO 8601 time, e.g. 2026-01-31 or 2026-01-31T12:00:00Z"
        raise typer.BadParameter(msg) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def entry_json(entry: AuditEntry) -> dict[str, object]:
    """Return *entry* with the fields of the HTTP API (unknown values null)."""
    return {
        "id": entry.id,
        "at": rfc3339(entry.at),
        "type": entry.type,
        "outcome": str(entry.outcome),
        "actor_id": None if entry.actor_id is None else str(entry.actor_id),
        "user_id": None if entry.user_id is None else str(entry.user_id),
        "session_id": None if entry.session_id is None else str(entry.session_id),
        "ip": entry.context.ip or None,
        "user_agent": entry.context.user_agent or None,
        "request_id": entry.context.request_id or None,
        "details": dict(entry.details),
    }


def _rows(
    um: BlockingUserManagement,
    *,
    user_id: UserId | None,
    event_type: str | None,
    since: datetime | None,
    limit: int,
) -> Iterator[AuditEntry]:
    """Yield up to *limit* matching rows, newest first, one keyset page at a time."""
    cursor: str | None = None
    left = limit
    while left > 0:
        page = um.list_audit_events(
            actor=SYSTEM,
            user_id=user_id,
            event_type=event_type,
            since=since,
            cursor=cursor,
            per_page=min(_PAGE, left),
        )
        yield from page.items
        left -= len(page.items)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


@app.command("list")
@handle_errors
def list_events(
    ctx: typer.Context,
    user: Annotated[
        str | None,
        typer.Option(
            "--user", metavar="USER", help="Only rows about this account: an id or an email."
        ),
    ] = None,
    event_type: Annotated[
        str | None,
        typer.Option("--type", metavar="TYPE", help="Only rows of this type, e.g. login_failed."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", metavar="ISO", help="Only rows at or after this time (UTC if no offset)."
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, metavar="N", help="Show at most this many rows.")
    ] = 100,
    json: Annotated[
        bool, typer.Option("--json", help="Print JSON (the HTTP API's fields) instead of a table.")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """List audit rows, newest first: who did what to which account, when, from where.

    --json prints one JSON array, one row per line, with the fields of
    GET /api/audit.

    Example:
        usermgmt audit list --user ann@example.org --since 2026-01-01
        usermgmt audit list --type login_failed --json
    """
    start = None if since is None else _moment(since)
    um = opener(ctx).open(database_url)
    user_id = None
    if user is not None:
        try:
            user_id = UserId(UUID(user))
        except ValueError:
            user_id = um.find_user(user, actor=SYSTEM, include_deleted=True).id
    rows = _rows(um, user_id=user_id, event_type=event_type, since=start, limit=limit)
    if json:
        typer.echo("[" + ",\n".join(to_json(entry_json(e)) for e in rows) + "]")
        return
    table = simple_table()
    for title in ("AT (UTC)", "TYPE", "OUTCOME", "ACTOR", "USER", "IP", "DETAILS"):
        table.add_column(title, overflow="fold")
    for entry in rows:
        table.add_row(
            entry.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            printable(entry.type),
            str(entry.outcome),
            str(entry.actor_id or ""),
            str(entry.user_id or ""),
            printable(entry.context.ip),
            printable(to_json(dict(entry.details)) if entry.details else ""),
        )
    if not table.row_count:
        typer.echo("No audit rows.")
        return
    console().print(table)


@app.command("purge")
@handle_errors
def purge(
    ctx: typer.Context,
    before: Annotated[
        str,
        typer.Option(
            "--before",
            metavar="ISO",
            show_default=False,
            help="Delete the rows from before this time (UTC if no offset).",
        ),
    ],
    database_url: DatabaseUrl = None,
) -> None:
    """Delete audit rows older than a time: the log's only delete, itself recorded.

    The running service already purges rows older than
    USERMGMT_AUDIT_RETENTION_DAYS; this is for an earlier purge.

    Example:
        usermgmt audit purge --before 2025-01-01
    """
    bound = _moment(before)
    um = opener(ctx).open(database_url)
    count = um.purge_audit_events(bound, actor=SYSTEM)
    noun = "row" if count == 1 else "rows"
    typer.echo(f"Purged {count} audit {noun} from before {rfc3339(bound)}.")
