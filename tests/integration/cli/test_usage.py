"""Help on every command, and usage errors that exit 2 before touching any database."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from usermgmt import __version__
from usermgmt.entrypoints.cli.main import app

COMMANDS = [
    ["db", "migrate"],
    ["db", "status"],
    ["users", "create"],
    ["users", "list"],
    ["users", "show"],
    ["users", "update"],
    ["users", "set-password"],
    ["users", "send-reset"],
    ["users", "delete"],
    ["users", "restore"],
    ["sessions", "list"],
    ["sessions", "revoke"],
]

# Usage errors fail before the database is reached: none is configured here.
NO_DATABASE = {"USERMGMT_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nowhere"}


@pytest.fixture
def runner() -> CliRunner:
    """A runner whose database does not exist: usage errors must not need one."""
    return CliRunner(env=NO_DATABASE)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example_and_the_database_flag(
    runner: CliRunner, command: list[str]
) -> None:
    """--help exits 0, shows an example invocation and offers --database-url."""
    result = runner.invoke(app, [*command, "--help"])

    assert result.exit_code == 0
    assert "Example:" in result.stdout
    assert f"usermgmt {' '.join(command)}" in result.stdout
    assert "--database-url" in result.stdout


@pytest.mark.parametrize("group", [[], ["users"], ["db"], ["sessions"]], ids=repr)
def test_a_group_without_a_command_shows_its_help(runner: CliRunner, group: list[str]) -> None:
    """Bare ``usermgmt`` (or a bare group) lists the commands and exits 2."""
    result = runner.invoke(app, group)

    assert result.exit_code == 2
    assert "Commands" in result.output


def test_version_prints_the_package_version(runner: CliRunner) -> None:
    """--version prints the installed version and exits 0."""
    result = runner.invoke(app, ["--version"])

    assert (result.exit_code, result.stdout) == (0, f"usermgmt {__version__}\n")


@pytest.mark.parametrize(
    "args",
    [
        ["bogus"],
        ["users", "bogus"],
        ["users", "show"],
        ["users", "create"],
        ["users", "list", "--format", "yaml"],
        ["users", "update", "ann@example.org", "--role", "superuser"],
        ["users", "update", "ann@example.org", "--active", "--bogus"],
        ["users", "delete", "ann@example.org", "extra"],
        ["sessions", "revoke"],
        ["sessions", "list"],
    ],
    ids=" ".join,
)
def test_usage_errors_exit_2(runner: CliRunner, args: list[str]) -> None:
    """Unknown commands and options, missing arguments and bad choices exit 2."""
    result = runner.invoke(app, args)

    assert result.exit_code == 2
    assert "Usage:" in result.stderr
