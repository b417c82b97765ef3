"""How users look on the terminal: rich tables for people, JSON for scripts.

The JSON form uses exactly the field names of the HTTP user representation;
where a command can show deleted users it adds ``deleted_at`` (``null`` for
a live user). Times are RFC 3339 in UTC. A password or hash is never shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from usermgmt import User

if TYPE_CHECKING:  # rich loads when something is printed: serve, say, never prints a table
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

_PIPE_WIDTH: Final = 160
"""Line width when stdout is not a terminal: wide enough that no column is squeezed."""

_UUID: Final = 36
_HALF_UUID: Final = 18  # a folded id: two lines, split at a hyphen
_TIME: Final = 19  # 2025-01-31 12:00:00
_DATE: Final = 10  # a folded time: the date, then the time below it
_SEPARATOR: Final = 3  # padding, rule, padding between two columns
_MIN_TEXT: Final = 10
_MAX_EMAIL: Final = 48
_MAX_NAME: Final = 32


def rfc3339(moment: datetime) -> str:
    """Return *moment* in UTC as RFC 3339, ``Z`` for the offset."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def user_json(user: User, *, with_deleted: bool = False) -> dict[str, object]:
    """Return *user* in the HTTP representation, plus ``deleted_at`` if *with_deleted*."""
    shown: dict[str, object] = {
        "id": str(user.id),
        "email": user.email.value,
        "name": user.name,
        "role": user.role.value,
        "is_active": user.is_active,
        "email_verified": user.email_verified,
        "pending_email": None if user.pending_email is None else user.pending_email.value,
        "created_at": rfc3339(user.created_at),
        "updated_at": rfc3339(user.updated_at),
        "mfa_enabled": user.mfa_enabled,
    }
    if with_deleted:
        shown["deleted_at"] = None if user.deleted_at is None else rfc3339(user.deleted_at)
    return shown


def to_json(value: object, *, indent: int | None = None) -> str:
    """Return *value* as JSON text, non-ASCII escaped so that no byte can steer a terminal."""
    return json.dumps(value, indent=indent, ensure_ascii=True)


def printable(value: str) -> str:
    r"""Return *value* with control and other invisible characters escaped (``\x1b``).

    Names come from anyone who can register; an escape sequence in one must not
    reach the operator's terminal as a command.
    """
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in value
    )


def console() -> Console:
    """Return a console on stdout; piped output gets wide lines instead of wrapped ones."""
    from rich.console import Console  # noqa: PLC0415 - see the imports

    out = Console(highlight=False, soft_wrap=False)
    if not out.is_terminal:
        out = Console(highlight=False, soft_wrap=False, width=_PIPE_WIDTH)
    return out


def simple_table(*, show_header: bool = True) -> Table:
    """Return an empty table in the CLI's style: a rule under the header, no outer edge."""
    from rich import box  # noqa: PLC0415 - see the imports
    from rich.table import Table  # noqa: PLC0415 - likewise

    return Table(box=box.SIMPLE_HEAD, show_header=show_header, show_edge=False, pad_edge=False)


def _cell(value: str) -> Text:
    from rich.text import Text  # noqa: PLC0415 - see the imports

    return Text(printable(value))


def _when(moment: datetime | None, suffix: str = "") -> Text:
    from rich.text import Text  # noqa: PLC0415 - see the imports

    if moment is None:
        return Text("")
    return Text(moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") + suffix)


class UserTable:
    """A table of users printed page by page, with one header and aligned columns."""

    def __init__(self, out: Console, *, with_deleted: bool = False) -> None:
        """Lay the columns out for *out*'s width; add a deleted column if *with_deleted*.

        The widths are fixed once, so the pages line up under one header; on a
        narrow terminal the id and the times fold onto two lines before the
        email and name get too narrow to read.
        """
        self._out = out
        self._with_deleted = with_deleted
        times = ["CREATED (UTC)", "DELETED (UTC)"] if with_deleted else ["CREATED (UTC)"]
        widths = {"ID": _UUID, "EMAIL": 0, "NAME": 0, "ROLE": 5, "ACTIVE": 6}
        widths.update(dict.fromkeys(times, _TIME))
        free = out.width - sum(widths.values()) - _SEPARATOR * (len(widths) - 1)
        if free < 2 * _MIN_TEXT:
            widths["ID"] = _HALF_UUID
            free += _UUID - _HALF_UUID
        if free < 2 * _MIN_TEXT:
            widths.update(dict.fromkeys(times, _DATE))
            free += (_TIME - _DATE) * len(times)
        widths["EMAIL"] = min(max(free * 3 // 5, _MIN_TEXT), _MAX_EMAIL)
        widths["NAME"] = min(max(free - widths["EMAIL"], _MIN_TEXT), _MAX_NAME)
        self._widths = widths
        self.printed = False
        """Whether any row has been printed yet."""

    def print_page(self, users: Iterable[User]) -> None:
        """Print the rows of *users*, under the header if they are the first."""
        page = simple_table(show_header=not self.printed)
        for title, width in self._widths.items():
            page.add_column(title, width=width, overflow="fold")
        for user in users:
            row = [
                _cell(str(user.id)),
                _cell(user.email.value),
                _cell(user.name),
                _cell(user.role.value),
                _cell("yes" if user.is_active else "no"),
                _when(user.created_at),
            ]
            if self._with_deleted:
                row.append(_when(user.deleted_at))
            page.add_row(*row)
        if page.row_count:
            self._out.print(page)
            self.printed = True


def print_user(out: Console, user: User) -> None:
    """Print one user as a two-column card: field, value."""
    from rich.table import Table  # noqa: PLC0415 - see the imports

    card = Table(box=None, show_header=False, pad_edge=False)
    card.add_column("field", style="bold")
    card.add_column("value", overflow="fold")
    card.add_row("id", _cell(str(user.id)))
    card.add_row("email", _cell(user.email.value))
    card.add_row("verified", _cell("yes" if user.email_verified else "no"))
    if user.pending_email is not None:
        card.add_row("pending email", _cell(user.pending_email.value))
    card.add_row("name", _cell(user.name))
    card.add_row("role", _cell(user.role.value))
    card.add_row("active", _cell("yes" if user.is_active else "no"))
    card.add_row("two-factor", _cell("on" if user.mfa_enabled else "off"))
    card.add_row("created", _when(user.created_at, " UTC"))
    card.add_row("updated", _when(user.updated_at, " UTC"))
    if user.deleted_at is not None:
        card.add_row("deleted", _when(user.deleted_at, " UTC"))
    out.print(card)
