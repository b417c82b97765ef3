"""``usermgmt users create``: the first admin, and every way a new account is refused."""

from __future__ import annotations

import pytest

from usermgmt import SYSTEM, BlockingUserManagement, Role, UserNotFoundError

from .conftest import PASSWORD, Cli


def test_create_with_password_stdin_makes_an_active_user(
    cli: Cli, um: BlockingUserManagement
) -> None:
    """A piped password creates an active plain user who can sign in with it."""
    result = cli(
        "users", "create", "Ann@Example.org", "--name", "Ann", "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    user = um.find_user("ann@example.org", actor=SYSTEM)
    assert (user.name, user.role, user.is_active) == ("Ann", Role.USER, True)
    assert result.stdout == f"Created user ann@example.org with id {user.id}.\n"
    assert um.authenticate("ann@example.org", PASSWORD).access_token


def test_create_admin_makes_the_first_administrator(cli: Cli, um: BlockingUserManagement) -> None:
    """--admin gives the new account the admin role: how the first admin comes to exist."""
    result = cli(
        "users", "create", "root@example.org", "--admin", "--password-stdin", stdin=PASSWORD
    )

    assert result.exit_code == 0, result.output
    assert um.find_user("root@example.org", actor=SYSTEM).role is Role.ADMIN
    assert result.stdout.startswith("Created admin root@example.org with id ")


def test_create_never_prints_the_password(cli: Cli) -> None:
    """Neither stdout nor stderr of a create ever contains the password."""
    result = cli("users", "create", "ann@example.org", "--password-stdin", stdin=PASSWORD + "\n")

    assert result.exit_code == 0
    assert PASSWORD not in result.output


def test_create_keeps_inner_spaces_and_drops_the_trailing_newline(
    cli: Cli, um: BlockingUserManagement
) -> None:
    """The piped password is taken whole except for the newline that ends it."""
    cli("users", "create", "ann@example.org", "--password-stdin", stdin="  spaced out pass  \r\n")

    assert um.authenticate("ann@example.org", "  spaced out pass  ").access_token


def test_create_with_a_taken_email_exits_1_with_one_line(
    cli: Cli, um: BlockingUserManagement
) -> None:
    """An email taken in any case is a conflict: exit 1 and one line that names it."""
    um.register_user("ann@example.org", PASSWORD)

    result = cli("users", "create", "ANN@example.org", "--password-stdin", stdin=PASSWORD)

    assert result.exit_code == 1
    assert result.stderr == "Error: The email ann@example.org is already registered.\n"
    assert result.stdout == ""


def test_create_with_an_invalid_email_exits_1_before_reading_the_password(cli: Cli) -> None:
    """A malformed address is refused (exit 1) with the validator's reason."""
    result = cli("users", "create", "not-an-email", "--password-stdin", stdin=PASSWORD)

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: email: ")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "password: must be at least 8 characters"),
        ("password", "password: is too common: it appears in lists of breached passwords"),
        ("ann@example.org", "password: must not be the email address or the service name"),
        ("", "password: must be at least 8 characters"),
        ("            ", "password: must not be only white space or invisible characters"),
        ("aaaaaaaaaaaa", "password: must not be one character repeated"),
        (
            "12345678901",
            "password: must not be a run of consecutive characters such as 12345678 or abcdefgh",
        ),
    ],
)
def test_create_with_a_weak_password_exits_1_with_the_policy_reason(
    cli: Cli, um: BlockingUserManagement, password: str, reason: str
) -> None:
    """The domain's password policy applies, and its reason is the error line."""
    result = cli("users", "create", "ann@example.org", "--password-stdin", stdin=password + "\n")

    assert result.exit_code == 1
    assert result.stderr == f"Error: {reason}\n"
    with pytest.raises(UserNotFoundError):
        um.find_user("ann@example.org", actor=SYSTEM)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Ann \x1b]0;owned\x07", "name: must not contain control characters or line breaks"),
        ("admin\u202etxt.exe", "name: must not contain bidirectional override or isolate"),
    ],
)
def test_create_with_a_name_that_could_forge_text_exits_1_with_the_rule(
    cli: Cli, um: BlockingUserManagement, name: str, reason: str
) -> None:
    """The name rules hold for the operator too, and the error line does not echo the name."""
    result = cli(
        "users", "create", "ann@example.org", "--name", name, "--password-stdin",
        stdin=PASSWORD,
    )  # fmt: skip

    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {reason}")
    assert result.stderr.count("\n") == 1
    assert name not in result.stderr
    with pytest.raises(UserNotFoundError):
        um.find_user("ann@example.org", actor=SYSTEM)


def test_create_follows_the_configured_minimum_length(cli: Cli) -> None:
    """USERMGMT_PASSWORD_MIN_LENGTH applies to the CLI just as to the API."""
    result = cli(
        "users", "create", "ann@example.org", "--password-stdin",
        stdin="fourteen chars",
        env={"USERMGMT_PASSWORD_MIN_LENGTH": "15"},
    )  # fmt: skip

    assert result.exit_code == 1
    assert result.stderr == "Error: password: must be at least 15 characters\n"


def test_create_without_a_terminal_or_password_stdin_is_a_usage_error(
    cli: Cli, um: BlockingUserManagement
) -> None:
    """With nothing to prompt on and no --password-stdin, nothing is read and exit is 2."""
    result = cli("users", "create", "ann@example.org", stdin=PASSWORD + "\n")

    assert result.exit_code == 2
    assert "--password-stdin" in result.stderr
    with pytest.raises(UserNotFoundError):
        um.find_user("ann@example.org", actor=SYSTEM)


def test_create_takes_no_password_from_a_flag_or_the_environment(cli: Cli) -> None:
    """There is no --password flag, and no environment variable stands in for the prompt."""
    flag = cli("users", "create", "ann@example.org", "--password", PASSWORD)
    env = cli("users", "create", "ann@example.org", env={"USERMGMT_PASSWORD": PASSWORD})

    assert flag.exit_code == 2
    assert "No such option" in flag.stderr
    assert env.exit_code == 2
    assert "--password-stdin" in env.stderr


def test_create_on_an_unreachable_database_exits_1_and_names_the_cause(cli: Cli) -> None:
    """A database that refuses connections is one error line, with the driver's reason."""
    result = cli(
        "users", "create", "ann@example.org", "--password-stdin",
        "--database-url", "postgresql://postgres@127.0.0.1:1/nowhere",
        stdin=PASSWORD,
    )  # fmt: skip

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: The database is unavailable; try again shortly. (")
    assert result.stderr.count("\n") == 1
