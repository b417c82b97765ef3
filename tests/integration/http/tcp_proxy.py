"""A loopback TCP proxy that a test can cut and restore, to stage a database outage."""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from typing import Self


class TcpProxy:
    """Forwards 127.0.0.1:<port> to *target* until told to fail.

    ``cut()`` kills every open connection and then either refuses new ones
    (``hang=False``: an outage that fails fast) or accepts them and never
    answers (``hang=True``: a database that stopped responding).
    ``restore()`` forwards again.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        """Listen on a free loopback port; start forwarding to *target*."""
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # so that the accept loop notices when to stop
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._mode = "forward"
        self._closed = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def __enter__(self) -> Self:
        """Return the running proxy."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop listening and drop every connection."""
        self._closed = True
        self._thread.join(timeout=5)
        self._listener.close()
        self._drop_all()

    def cut(self, *, hang: bool = False) -> None:
        """Start the outage: every connection dies, new ones are refused or left hanging."""
        with self._lock:
            self._mode = "hang" if hang else "refuse"
        self._drop_all()

    def restore(self) -> None:
        """End the outage: new connections are forwarded again."""
        with self._lock:
            self._mode = "forward"

    def _drop_all(self) -> None:
        with self._lock:
            doomed, self._sockets = self._sockets, set()
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            with self._lock:
                mode = self._mode
                if mode != "refuse":
                    self._sockets.add(client)
            if mode == "refuse":
                client.close()
            elif mode == "forward":
                self._connect(client)

    def _connect(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self._target, timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        with self._lock:
            self._sockets.add(upstream)
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
