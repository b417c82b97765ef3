"""A program run on a pseudo-terminal, as a person at a shell would run it."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Mapping

import pytest

TIMEOUT = 60.0

# Runs the script with the pseudo-terminal as its controlling terminal, as a login shell would.
_ON_TERMINAL = (
    "import fcntl, os, sys, termios; "
    "fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


class Terminal:
    """The other end of a pseudo-terminal: what a person would see and type."""

    def __init__(self, args: list[str], env: Mapping[str, str]) -> None:
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
