"""The installed ``usermgmt`` script in real processes: pipes, exit codes, a real terminal."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.terminal import Terminal
from usermgmt import SYSTEM, BlockingUserManagement

from .conftest import PASSWORD

TIMEOUT = 60.0


def test_script_creates_a_user_from_a_pipe(
    script: Path, process_env: dict[str, str], um: BlockingUserManagement
) -> None:
    """``printf ... | usermgmt users create --password-stdin`` works as documented."""
    done = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [script, "users", "create", "ann@example.org", "--password-stdin"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=process_env,
        timeout=TIMEOUT,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert um.authenticate("ann@example.org", PASSWORD).access_token


def test_script_domain_error_is_one_line_without_traceback(
    script: Path, process_env: dict[str, str]
) -> None:
    """A real process reports "not found" as exit 1 and exactly one stderr line."""
    done = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [script, "users", "show", "nobody@example.org"],
        capture_output=True,
        text=True,
        env=process_env,
        timeout=TIMEOUT,
        check=False,
    )

    assert done.returncode == 1
    assert done.stderr == "Error: No user nobody@example.org.\n"
    assert done.stdout == ""


def test_script_usage_error_exits_2(script: Path, process_env: dict[str, str]) -> None:
    """A real process reports an unknown option with exit 2."""
    done = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [script, "users", "list", "--bogus"],
        capture_output=True,
        text=True,
        env=process_env,
        timeout=TIMEOUT,
        check=False,
    )

    assert done.returncode == 2
    assert "Traceback" not in done.stderr


def test_create_on_a_terminal_prompts_twice_and_never_echoes(
    script: Path, process_env: dict[str, str], um: BlockingUserManagement
) -> None:
    """On a terminal the password is asked for, confirmed, and never appears on screen."""
    terminal = Terminal([str(script), "users", "create", "ann@example.org"], process_env)

    terminal.expect("Password: ")
    terminal.type(PASSWORD)
    terminal.expect("Repeat for confirmation: ")
    terminal.type(PASSWORD)
    status = terminal.finish()

    assert status == 0, terminal.screen
    assert PASSWORD not in terminal.screen
    assert "Created user ann@example.org" in terminal.screen
    assert um.authenticate("ann@example.org", PASSWORD).access_token


def test_set_password_on_a_terminal_asks_again_when_the_two_differ(
    script: Path, process_env: dict[str, str], um: BlockingUserManagement
) -> None:
    """Mismatched entries are refused and asked for again; the matching pair is kept."""
    user = um.register_user("ann@example.org", PASSWORD)
    new = "a brand new passphrase"
    terminal = Terminal([str(script), "users", "set-password", str(user.id)], process_env)

    terminal.expect("Password: ")
    terminal.type(new)
    terminal.expect("Repeat for confirmation: ")
    terminal.type(new + " typo")
    terminal.expect("do not match")
    terminal.expect("Password: ")
    terminal.type(new)
    terminal.expect("Repeat for confirmation: ")
    terminal.type(new)
    status = terminal.finish()

    assert status == 0, terminal.screen
    assert new not in terminal.screen
    assert um.authenticate("ann@example.org", new).access_token
    assert um.find_user(str(user.id), actor=SYSTEM).email.value == "ann@example.org"
