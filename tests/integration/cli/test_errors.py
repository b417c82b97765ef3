"""Every domain error, raised in any command, is one line on stderr and exit status 1."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

import usermgmt
from tests.errors import domain_errors, instance_of
from usermgmt import UserMgmtError
from usermgmt.entrypoints.cli.errors import handle_errors


@pytest.mark.parametrize("cls", domain_errors(with_root=True), ids=lambda cls: cls.__name__)
def test_each_domain_error_exits_1_with_its_message_on_one_line(
    cls: type[UserMgmtError],
) -> None:
    """The CLI's one handler maps every UserMgmtError subclass to exit 1 and its message."""
    error = instance_of(cls)
    app = typer.Typer()

    @app.command()
    @handle_errors
    def fail() -> None:
        raise error

    result = CliRunner().invoke(app, [])

    assert result.exit_code == 1
    assert result.stderr == f"Error: {error}\n"
    assert result.stdout == ""


def test_the_walk_sees_the_public_errors() -> None:
    """Every error class exported by usermgmt is among those walked above."""
    exported = {
        getattr(usermgmt, name)
        for name in usermgmt.__all__
        if isinstance(getattr(usermgmt, name), type)
        and issubclass(getattr(usermgmt, name), UserMgmtError)
    }

    assert exported <= set(domain_errors(with_root=True))
