"""``serve``'s worker processes, each listening on a socket of its own.

uvicorn's supervisor binds one socket and hands it to every worker: the
worker that wakes first accepts a new connection, and a keep-alive
connection then stays with the worker that accepted it. Under load the
busiest worker is often the first awake, and one worker was seen taking
nearly every connection while the other idled (in a login storm with two
workers: 1.83 cores against 0.01).

Here every worker gets its own listening socket, all bound to the same
address with ``SO_REUSEPORT``, and the kernel hashes each new connection to
one of them: connections spread evenly over the workers whatever each one is
doing. A socket lives in exactly one worker: the supervisor closes its own
copy once the worker has started, so a worker that dies takes its socket
with it and the kernel sends new connections to the others until its
replacement listens.

The rest of the supervision (health pings, restarting a dead worker,
stopping on SIGINT or SIGTERM, SIGHUP, SIGTTIN and SIGTTOU) is uvicorn's own.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess

log = logging.getLogger("uvicorn.error")


class CannotListenError(Exception):
    """The address to serve cannot be bound: in use, or not this machine's."""


def run(app: str, **options: Any) -> None:  # noqa: ANN401 - uvicorn.run's keyword arguments
    """Serve *app* like ``uvicorn.run(app, **options)``; several workers get a socket each.

    Raises:
        CannotListenError: the address cannot be bound (with one worker or several).
    """
    host, port = options.get("host", "127.0.0.1"), options.get("port", 8000)
    try:
        claimed = claim_port(host, port)  # one worker or several: the same one-line refusal
    except OSError as exc:
        msg = f"cannot listen on {host}:{port}: {exc.strerror}"
        raise CannotListenError(msg) from None
    if options.get("workers", 1) == 1:
        uvicorn.run(app, **options)
    else:
        ReusePortWorkers(uvicorn.Config(app, **{**options, "port": claimed})).run()


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _bound(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT, as uvicorn
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def claim_port(host: str, port: int) -> int:
    """Check that nothing listens on *host*:*port*; return the port (chosen here if *port* is 0).

    The check binds without ``SO_REUSEPORT``, which fails when anything holds
    the port, a ``SO_REUSEPORT`` group included: a second ``serve`` on the
    same port stops here instead of quietly sharing the first one's traffic.

    Raises:
        OSError: the address cannot be bound (in use, or not this machine's).
    """
    with _bound(host, port, reuse_port=False) as probe:
        chosen: int = probe.getsockname()[1]
    return chosen


class ReusePortWorkers(Multiprocess):
    """uvicorn's supervisor, giving each worker it starts a listening socket of its own."""

    def __init__(self, config: uvicorn.Config) -> None:
        """Supervise ``config.workers`` workers serving *config*'s host and port.

        The port is one :func:`claim_port` found free (not 0: each socket
        would get a port of its own).
        """
        self._host = config.host
        self._port = config.port
        self._handed_out: list[socket.socket] = []
        super().__init__(config, sockets=[])
        scheme = "https" if config.is_ssl else "http"
        shown = f"[{self._host}]" if ":" in self._host else self._host
        log.info(
            "Uvicorn running on %s://%s:%d, one socket per worker (Press CTRL+C to quit)",
            scheme,
            shown,
            self._port,
        )

    @property
    def sockets(self) -> list[socket.socket]:
        """A new socket, for the worker about to start.

        uvicorn's supervisor passes this attribute to every worker it starts
        (at start-up, on restart, and when SIGTTIN adds one): each reading
        binds a socket of its own.
        """
        sock = _bound(self._host, self._port, reuse_port=True)
        self._handed_out.append(sock)
        return [sock]

    @sockets.setter
    def sockets(self, _unused: list[socket.socket]) -> None:
        """Uvicorn's constructor sets the list it would share; there is none to share."""

    def _release_handed_out(self) -> None:
        """Close this process's copies of the sockets handed to workers that have started.

        A spawned worker inherits its socket's descriptor when it starts, so
        after ``start()`` the worker holds the socket and this copy only
        keeps it open should the worker die.
        """
        for sock in self._handed_out:
            sock.close()
        self._handed_out.clear()

    def init_processes(self) -> None:
        """Start the workers, then let go of their sockets."""
        super().init_processes()
        self._release_handed_out()

    def keep_subprocess_alive(self) -> None:
        """Replace dead workers; then let go of the sockets of every worker started meanwhile.

        Runs after the signals of each turn are handled, so the workers that
        SIGHUP or SIGTTIN started are covered too.
        """
        super().keep_subprocess_alive()
        self._release_handed_out()

    def run(self) -> None:
        """Supervise until told to stop; no socket is left open here afterwards."""
        try:
            super().run()
        finally:
            self._release_handed_out()
