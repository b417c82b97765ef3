"""A real ``usermgmt serve`` in a child process, for the tests that need real sockets."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import attrs
import httpx

from tests.conftest import TEST_SECRET

# The command as the CLI registers it, without the rest of the CLI.
SERVE = [
    sys.executable,
    "-c",
    "import typer; from usermgmt.entrypoints.cli.serve import serve; typer.run(serve)",
]

CHEAP_ARGON2 = {
    "USERMGMT_ARGON2_TIME_COST": "1",
    "USERMGMT_ARGON2_MEMORY_COST": "8",
    "USERMGMT_ARGON2_PARALLELISM": "1",
}


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@attrs.frozen
class Served:
    """A running ``usermgmt serve``: its process, its port and its log file."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        """The base URL of the API."""
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        """Return what the server wrote to stderr so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def wait_until_serving(served: Served, timeout: float = 60) -> None:
    """Return once ``GET /`` answers; fail if the server exits or never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            msg = f"serve exited with {served.process.returncode}:\n{served.log()}"
            raise AssertionError(msg)
        try:
            if httpx.get(f"{served.url}/", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    msg = f"serve did not answer within {timeout} s:\n{served.log()}"
    raise AssertionError(msg)


def stop(served: Served, sig: int = signal.SIGINT, timeout: float = 30) -> int:
    """Send *sig* to the server and wait for it to exit; return its exit status."""
    if served.process.poll() is None:
        served.process.send_signal(sig)
    try:
        return served.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        served.process.kill()
        return served.process.wait()


@contextlib.contextmanager
def serving(
    *args: str, env: Mapping[str, str | None], log_dir: Path, wait: bool = True
) -> Iterator[Served]:
    """Run ``usermgmt serve *args*`` with *env* over this environment; stop it at the end.

    A ``None`` in *env* unsets that variable. The log goes to a file in
    *log_dir* (a pipe could fill up and stall the server).
    """
    port = free_port()
    log_path = log_dir / f"serve-{port}.log"
    merged = {**os.environ, "USERMGMT_JWT_SECRET": TEST_SECRET, **CHEAP_ARGON2, **env}
    environment = {name: value for name, value in merged.items() if value is not None}
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and command
            [*SERVE, "--port", str(port), *args], env=environment, stderr=log
        )
    served = Served(process, port, log_path)
    try:
        if wait:
            wait_until_serving(served)
        yield served
    finally:
        stop(served)
