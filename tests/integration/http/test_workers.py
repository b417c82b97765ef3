"""``serve --workers N``: each worker listens on its own socket; the kernel spreads connections."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import TEST_SECRET
from tests.integration.http.server import CHEAP_ARGON2, SERVE, Served, free_port, serving
from usermgmt.entrypoints.cli.workers import claim_port

pytestmark = pytest.mark.slow

CONNECTIONS = 40
"""New connections opened at once; each worker gets about half (at least 8 but for 1 in 10^5)."""


def _listening(pid: int, port: int) -> list[int]:
    """Return the descriptors on which process *pid* listens on *port*."""
    return [
        conn.fd
        for conn in psutil.Process(pid).net_connections("tcp")
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port
    ]


def _established(pid: int, port: int) -> int:
    return sum(
        1
        for conn in psutil.Process(pid).net_connections("tcp")
        if conn.status == psutil.CONN_ESTABLISHED and conn.laddr.port == port
    )


def _workers(served: Served, count: int, timeout: float = 60) -> list[int]:
    """Wait until *count* workers listen on the server's port; return their ids."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = psutil.Process(served.process.pid).children()
        listening = [child.pid for child in children if _listening(child.pid, served.port)]
        if len(listening) == count:
            return sorted(listening)
        time.sleep(0.2)
    msg = f"{count} workers did not listen within {timeout} s:\n{served.log()}"
    raise AssertionError(msg)


@contextlib.contextmanager
def _two_workers(database: str, log_dir: Path) -> Iterator[tuple[Served, list[int]]]:
    """Run ``serve --workers 2`` on *database*; yield it, once both listen, and their ids."""
    with serving("--workers", "2", "--database-url", database, env={}, log_dir=log_dir) as served:
        yield served, _workers(served, 2)


def _health_on_new_connections(served: Served, count: int) -> list[int]:
    statuses = []
    for _ in range(count):
        with httpx.Client(base_url=served.url, timeout=3) as client:  # a connection of its own
            statuses.append(client.get("/health").status_code)
    return statuses


def test_each_worker_listens_on_its_own_socket_and_gets_its_share(
    empty_database: str, tmp_path: Path
) -> None:
    """Two workers, one socket each, none left in serve itself; 40 connections split evenly."""
    with _two_workers(empty_database, tmp_path) as (served, workers):
        sockets = [_listening(pid, served.port) for pid in workers]
        in_serve = _listening(served.process.pid, served.port)
        held = [socket.create_connection(("127.0.0.1", served.port)) for _ in range(CONNECTIONS)]
        try:
            for sock in held:  # one request each, so that a worker has surely accepted it
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                assert sock.recv(64).startswith(b"HTTP/1.1 200")
            shares = [_established(pid, served.port) for pid in workers]
        finally:
            for sock in held:
                sock.close()

    assert [len(fds) for fds in sockets] == [1, 1]
    assert in_serve == []
    assert sum(shares) == CONNECTIONS
    assert min(shares) >= 8, shares  # one shared socket let the first awake take them all


def test_a_killed_worker_takes_its_socket_and_is_replaced(
    empty_database: str, tmp_path: Path
) -> None:
    """No new connection goes to a dead worker's socket; its replacement listens on its own."""
    with _two_workers(empty_database, tmp_path) as (served, [first, second]):
        os.kill(first, signal.SIGKILL)
        psutil.Process(first).wait(timeout=10)
        meanwhile = _health_on_new_connections(served, 20)  # a socket left open would hang half
        replaced = _workers(served, 2)
        after = _health_on_new_connections(served, 20)

    assert meanwhile == [200] * 20
    assert second in replaced
    assert first not in replaced
    assert after == [200] * 20


@pytest.mark.parametrize("workers", [1, 2])
def test_a_port_already_served_stops_a_second_serve_in_one_line(
    empty_database: str, tmp_path: Path, workers: int
) -> None:
    """Sockets that share a port do not let a second ``serve`` quietly take half the traffic."""
    with _two_workers(empty_database, tmp_path) as (served, _):
        second = subprocess.run(  # noqa: S603 - our own interpreter and command
            [*SERVE, "--port", str(served.port), "--workers", str(workers)],
            env={
                **os.environ,
                "USERMGMT_JWT_SECRET": TEST_SECRET,
                **CHEAP_ARGON2,
                "USERMGMT_DATABASE_URL": empty_database,
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        still = _health_on_new_connections(served, 10)

    assert second.returncode == 1
    assert second.stderr.splitlines()[-1] == (
        f"Error: cannot listen on 127.0.0.1:{served.port}: Address already in use"
    )
    assert "Traceback" not in second.stderr
    assert still == [200] * 10
    port = free_port()
    assert claim_port("127.0.0.1", port) == port
