"""The installed ``usermgmt`` script in real processes: pipes, exit codes, a real terminal."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from usermgmt import SYSTEM, BlockingUserManagement

from .conftest import PASSWORD

TIMEOUT = 60.0

# Runs the script with the pseudo-terminal as its controlling terminal, as a login shell would.
_ON_TERMINAL = (
    "import fcntl, os, sys, termios; "
    "fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


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


class Terminal:
    """The other end of a pseudo-terminal: what a person would see and type."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self._master, follower = pty.openpty()
        self.process = subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
            [sys.executable, "-c", _ON_TERMINAL, *args],
            stdin=follower,
            stdout=follower,
            stderr=follower,
            env=env,
            start_new_session=True,
        )
        os.close(follower)
        self.screen = ""
        self._seen = 0  # where the next expect() starts looking

    def _read(self, deadline: float) -> bool:
        ready, _, _ = select.select([self._master], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            return False
        try:
            chunk = os.read(self._master, 4096)
        except OSError:  # EIO: the program closed the terminal
            chunk = b""
        self.screen += chunk.decode("utf-8", "replace")
        return bool(chunk)

    def expect(self, text: str) -> None:
        """Wait until *text* appears on the screen, after what was expected before."""
        deadline = time.monotonic() + TIMEOUT
        while (found := self.screen.find(text, self._seen)) < 0:
            if not self._read(deadline):
                pytest.fail(f"{text!r} never appeared; the screen shows {self.screen!r}")
        self._seen = found + len(text)

    def type(self, line: str) -> None:
        """Type *line* and press Enter."""
        os.write(self._master, line.encode() + b"\n")

    def finish(self) -> int:
        """Read the screen until the program exits; return its exit status."""
        deadline = time.monotonic() + TIMEOUT
        while self._read(deadline):
            pass
        os.close(self._master)
        return self.process.wait(timeout=TIMEOUT)


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
