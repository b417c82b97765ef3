"""``usermgmt users``: create, list, show, update, set-password, delete, restore, mfa-reset.

A little over 300 lines, kept as one module: the commands of one group,
each a short function over the blocking facade, read together.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Annotated, Final

import typer

from usermgmt import SYSTEM, Email, Role, User
from usermgmt.entrypoints.cli.context import DatabaseUrl, opener
from usermgmt.entrypoints.cli.errors import fail, handle_errors
from usermgmt.entrypoints.cli.render import UserTable, console, print_user, to_json, user_json

if TYPE_CHECKING:
    from usermgmt import BlockingUserManagement

PAGE_SIZE: Final = 100
"""Users fetched per round trip by ``users list``: the largest page the core allows."""

app = typer.Typer(
    no_args_is_help=True,
    help="Create, list, show, change, delete and restore users.",
)

UserRef = Annotated[
    str,
    typer.Argument(
        metavar="USER", show_default=False, help="The user's id (a UUID) or email address."
    ),
]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help=(
            "Read the password from standard input (to its end; trailing newlines are "
            "dropped) instead of prompting on the terminal."
        ),
    ),
]
JsonOutput = Annotated[
    bool,
    typer.Option("--json", help="Print JSON for scripts instead of a table."),
]


def _password_source(ctx: typer.Context, *, from_stdin: bool) -> Callable[[], str]:
    """Decide where the password comes from, failing before anything slow happens.

    A password is never taken from a flag or an environment variable (they leak
    into shell history and process listings), and is read from a pipe only when
    asked: without a terminal to prompt on, ``--password-stdin`` is required.
    """
    if from_stdin:
        return lambda: sys.stdin.read().rstrip("\r\n")
    if not sys.stdin.isatty():
        ctx.fail("no terminal to prompt for the password on: pipe it in with --password-stdin")

    def prompt() -> str:
        answer: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        return answer

    return prompt


def _find(um: BlockingUserManagement, reference: str, *, include_deleted: bool = False) -> User:
    return um.find_user(reference, actor=SYSTEM, include_deleted=include_deleted)


@app.command("create")
@handle_errors
def create(
    ctx: typer.Context,
    email: Annotated[
        str, typer.Argument(metavar="EMAIL", show_default=False, help="The new user's email.")
    ],
    name: Annotated[str, typer.Option("--name", help="Display name.")] = "",
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an administrator.")] = False,
    password_stdin: PasswordStdin = False,
    database_url: DatabaseUrl = None,
) -> None:
    r"""Create an active user; the password is asked for twice, hidden.

    The password policy applies (length, common passwords, not the email).
    This is how the first administrator is made: no account exists by default.

    Example:
        usermgmt users create admin@example.org --name "Ada Admin" --admin
        printf '%s\n' "$PASSWORD" | usermgmt users create ann@example.org --password-stdin
    """
    read_password = _password_source(ctx, from_stdin=password_stdin)
    Email.parse(email)  # a mistyped address fails before the password is asked for
    um = opener(ctx).open(database_url)
    user = um.register_user(
        email, read_password(), name, role=Role.ADMIN if admin else Role.USER, actor=SYSTEM
    )
    typer.echo(f"Created {user.role.value} {user.email} with id {user.id}.")


@app.command("list")
@handle_errors
def list_users(
    ctx: typer.Context,
    json: JsonOutput = False,
    include_deleted: Annotated[
        bool,
        typer.Option(
            "--include-deleted",
            help="Also list soft-deleted users (with when they were deleted), e.g. to restore one.",
        ),
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """List users, oldest first, page by page as they arrive.

    --json prints one JSON array, one user per line, with the fields of the
    HTTP API; with --include-deleted every user also has deleted_at.

    Example:
        usermgmt users list
        usermgmt users list --json --include-deleted
    """
    um = opener(ctx).open(database_url)
    pages = _pages(um, include_deleted=include_deleted)
    if json:
        _print_json(pages, with_deleted=include_deleted)
        return
    table = UserTable(console(), with_deleted=include_deleted)
    for items in pages:
        table.print_page(items)
    if not table.printed:
        typer.echo("No users.")


def _pages(um: BlockingUserManagement, *, include_deleted: bool) -> Iterator[tuple[User, ...]]:
    """Yield every user, one keyset page at a time: memory stays flat at any count."""
    cursor: str | None = None
    while True:
        page = um.list_users_after(
            actor=SYSTEM, cursor=cursor, per_page=PAGE_SIZE, include_deleted=include_deleted
        )
        yield page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _print_json(pages: Iterable[tuple[User, ...]], *, with_deleted: bool) -> None:
    """Print one JSON array, one user per line, written as the pages arrive."""
    separator = "[\n  "
    for items in pages:
        for user in items:
            typer.echo(separator + to_json(user_json(user, with_deleted=with_deleted)), nl=False)
            separator = ",\n  "
    typer.echo("[]" if separator.startswith("[") else "\n]")


@app.command("show")
@handle_errors
def show(
    ctx: typer.Context,
    user: UserRef,
    json: JsonOutput = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Show one user, deleted or not.

    --json prints the HTTP API's fields plus deleted_at (null unless deleted).
    An email names its live user, or else the one with it deleted most recently.

    Example:
        usermgmt users show ann@example.org
        usermgmt users show 0b6c1c7e-7e0c-4b7b-9e5e-1f0f3b1c2d3e --json
    """
    um = opener(ctx).open(database_url)
    found = _find(um, user, include_deleted=True)
    if json:
        typer.echo(to_json(user_json(found, with_deleted=True), indent=2))
    else:
        print_user(console(), found)


@app.command("update")
@handle_errors
def update(
    ctx: typer.Context,
    user: UserRef,
    name: Annotated[
        str | None, typer.Option("--name", show_default=False, help="New display name.")
    ] = None,
    email: Annotated[
        str | None, typer.Option("--email", show_default=False, help="New email address.")
    ] = None,
    role: Annotated[
        Role | None, typer.Option("--role", show_default=False, help="New role.")
    ] = None,
    active: Annotated[
        bool | None,
        typer.Option(
            "--active/--inactive",
            show_default=False,
            help="Allow or refuse sign-in; deactivating ends every session at once.",
        ),
    ] = None,
    verified: Annotated[
        bool | None,
        typer.Option(
            "--verified/--unverified",
            show_default=False,
            help="Count the email address as verified (or not), as a spent link would.",
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Change a user's name, email, role, active state or verification; give at least one.

    A new --email applies at once and is unverified (add --verified when you
    know the address is theirs). The last active administrator cannot be
    demoted or deactivated.

    Example:
        usermgmt users update ann@example.org --role admin
        usermgmt users update ann@example.org --inactive
        usermgmt users update ann@example.org --verified
    """
    if name is None and email is None and role is None and active is None and verified is None:
        ctx.fail(
            "nothing to change: give --name, --email, --role, --active/--inactive "
            "or --verified/--unverified"
        )
    um = opener(ctx).open(database_url)
    target = _find(um, user)
    updated = um.update_user(
        target.id,
        actor=SYSTEM,
        name=name,
        email=email,
        role=role,
        is_active=active,
        email_verified=verified,
    )
    print_user(console(), updated)


@app.command("send-reset")
@handle_errors
def send_reset(
    ctx: typer.Context,
    user: UserRef,
    database_url: DatabaseUrl = None,
) -> None:
    """Mail a user a password-reset link, as if they had asked for one.

    The link goes to the user's address only; it is never shown here. The
    running service sends it (at most one a minute, five an hour, per user).

    Example:
        usermgmt users send-reset ann@example.org
    """
    um = opener(ctx).open(database_url)
    target = _find(um, user)
    if not target.can_sign_in:
        raise fail(f"{target.email} may not sign in (deactivated): no link was queued")
    um.request_password_reset(target.email.value)
    typer.echo(
        f"Queued a password-reset link to {target.email}; the running service mails it, "
        "unless one went out in the last minute."
    )


@app.command("set-password")
@handle_errors
def set_password(
    ctx: typer.Context,
    user: UserRef,
    password_stdin: PasswordStdin = False,
    database_url: DatabaseUrl = None,
) -> None:
    r"""Give a user a new password; every session of theirs ends.

    The password is asked for twice, hidden, and the password policy applies.

    Example:
        usermgmt users set-password ann@example.org
        printf '%s\n' "$PASSWORD" | usermgmt users set-password ann@example.org --password-stdin
    """
    read_password = _password_source(ctx, from_stdin=password_stdin)
    um = opener(ctx).open(database_url)
    target = _find(um, user)  # an unknown user fails before the password is asked for
    um.change_password(target.id, read_password(), actor=SYSTEM)
    typer.echo(f"Changed the password of {target.email}; their sessions were ended.")


@app.command("delete")
@handle_errors
def delete(
    ctx: typer.Context,
    user: UserRef,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete without asking for confirmation.")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Soft-delete a user: sign-in refused, every session ended, email free again.

    Asks for confirmation unless --yes is given. The last active administrator
    cannot be deleted. `usermgmt users restore` undoes it.

    Example:
        usermgmt users delete ann@example.org
        usermgmt users delete 0b6c1c7e-7e0c-4b7b-9e5e-1f0f3b1c2d3e --yes
    """
    um = opener(ctx).open(database_url)
    target = _find(um, user)
    question = f"Delete {target.email} ({target.id})? Their sessions end at once."
    if not yes and not typer.confirm(question, default=False):
        raise fail("not confirmed; nothing was deleted")
    um.delete_user(target.id, actor=SYSTEM)
    typer.echo(f"Deleted {target.email} ({target.id}).")


@app.command("restore")
@handle_errors
def restore(
    ctx: typer.Context,
    user: UserRef,
    database_url: DatabaseUrl = None,
) -> None:
    """Undo a soft delete; the user's old sessions stay ended.

    An email names the user deleted most recently with it (unless a live user
    has it); use the id from `usermgmt users list --include-deleted` to pick another.

    Example:
        usermgmt users restore ann@example.org
    """
    um = opener(ctx).open(database_url)
    target = _find(um, user, include_deleted=True)
    restored = um.restore_user(target.id, actor=SYSTEM)
    typer.echo(f"Restored {restored.email} ({restored.id}).")


@app.command("mfa-reset")
@handle_errors
def mfa_reset(
    ctx: typer.Context,
    user: UserRef,
    database_url: DatabaseUrl = None,
) -> None:
    """Remove a user's second factor (TOTP and recovery codes): a lost phone.

    Every session of the user ends; the password stays, so they sign in with
    it alone and may set up TOTP again.

    Example:
        usermgmt users mfa-reset ann@example.org
    """
    um = opener(ctx).open(database_url)
    target = _find(um, user)
    um.reset_mfa(target.id, actor=SYSTEM)
    typer.echo(f"Reset the second factor of {target.email} ({target.id}); their sessions ended.")
