"""The one place where the CLI turns domain errors into an exit status.

Every command is wrapped in :func:`handle_errors`: a :class:`UserMgmtError`
becomes one line on stderr and exit status 1, never a traceback. Usage errors
(a missing argument, an unknown option, a bad choice) are Typer's, exit 2.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Final, ParamSpec, TypeVar

import typer

from usermgmt import UnavailableError, UserMgmtError

P = ParamSpec("P")
T = TypeVar("T")

DOMAIN_ERROR: Final = 1
"""Exit status for anything the core refused: not found, conflict, invalid, unavailable."""

USAGE_ERROR: Final = 2
"""Exit status for a command line that cannot be run as given (Typer's own code, too)."""


def describe(exc: UserMgmtError) -> str:
    """Return the one line that explains *exc* to an operator.

    An unreachable database adds the driver's first line (host and port, never
    the password), because "try again shortly" alone does not help someone who
    mistyped a URL.
    """
    message = str(exc)
    cause = exc.__cause__
    if isinstance(exc, UnavailableError) and cause is not None:
        detail = str(cause).strip().splitlines()
        if detail:
            message = f"{message} ({detail[0].strip()})"
    return message


def fail(message: str, *, code: int = DOMAIN_ERROR) -> typer.Exit:
    """Print *message* as one error line on stderr; return the exit to raise."""
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def handle_errors(command: Callable[P, T]) -> Callable[P, T]:
    """Run *command*, turning a domain error into one line on stderr and exit status 1."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return command(*args, **kwargs)
        except UserMgmtError as exc:
            raise fail(describe(exc)) from None

    return run
