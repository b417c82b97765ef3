"""Bounded request heads, sent over real sockets to a real ``usermgmt serve``."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Self

import attrs
import psutil
import pytest

from tests.integration.http.server import Served, serving
from usermgmt.entrypoints.http.protocol import HEADER_TIMEOUT

KIB = 1024
MIB = 1024 * KIB


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One real ``usermgmt serve`` (one worker) for the whole module."""
    data = tmp_path_factory.mktemp("head-limits")
    env = {"USERMGMT_DATA_DIR": str(data), "USERMGMT_RATE_LIMIT_PER_MINUTE": "0"}
    with serving("--database-url", database_url, "--no-migrate", env=env, log_dir=data) as served:
        yield served


@attrs.frozen
class Response:
    """A response as read off the wire."""

    status: int
    headers: dict[str, str]
    body: bytes


def request(
    path: str = "/",
    headers: Sequence[tuple[str, str]] = (),
    *,
    method: str = "GET",
    body: bytes = b"",
    close: bool = False,
) -> bytes:
    """Return the bytes of one HTTP/1.1 request."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def padding(total: int, fields: int = 1) -> list[tuple[str, str]]:
    """Return *fields* header fields of about *total* bytes together (as the limit counts them)."""
    each = total // fields - len("X-Pad-000: \r\n")
    return [(f"X-Pad-{i:03}", "a" * each) for i in range(fields)]


class Wire:
    """One raw connection: send bytes, read responses, see when the server hangs up."""

    def __init__(self, server: Served, timeout: float = 10) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
        self.buffer = b""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> bool:
        """Send *data*; return False if the server closed the connection meanwhile."""
        try:
            self.sock.sendall(data)
        except OSError:  # EPIPE or ECONNRESET: the server stopped reading, as it should
            return False
        return True

    def _fill(self) -> bool:
        try:
            chunk = self.sock.recv(64 * KIB)
        except ConnectionResetError:
            chunk = b""
        self.buffer += chunk
        return bool(chunk)

    def response(self) -> Response | None:
        """Read the next response; ``None`` when the connection ends before one."""
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                return None
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            if not self._fill():
                return None
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Response(int(status_line.split()[1]), headers, body)

    def ends(self) -> bool:
        """Return whether the server closes the connection with nothing more to read."""
        return not self.buffer and not self._fill()


def _refused_with_431(server: Served, raw: bytes) -> None:
    with Wire(server) as wire:
        wire.send(raw)
        response = wire.response()

        assert response is None or response.status == 431  # closed is allowed too
        if response is not None:
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["connection"] == "close"
            assert json.loads(response.body)["type"] == "/problems/headers-too-large"
            assert wire.ends()


@pytest.mark.parametrize("fields", [1, 17], ids=["one-field", "seventeen-fields"])
def test_headers_over_16_kib_in_total_are_refused_with_431(server: Served, fields: int) -> None:
    """17 KiB of headers, in one field or in many, never reach the application."""
    _refused_with_431(server, request(headers=padding(17 * KIB, fields)))


def test_more_than_100_header_fields_are_refused_with_431(server: Served) -> None:
    """101 small fields (with Host) are one too many."""
    _refused_with_431(server, request(headers=[(f"X-F{i}", "v") for i in range(100)]))


def test_heads_just_within_the_limits_are_served(server: Served) -> None:
    """100 fields (with Host and Connection), or 16 KiB of them, are answered normally."""
    for headers in ([(f"X-F{i}", "v") for i in range(98)], padding(16 * KIB - 100, 8)):
        with Wire(server) as wire:
            wire.send(request(headers=headers, close=True))
            response = wire.response()

            assert response is not None
            assert response.status == 200


def test_a_request_target_over_8_kib_is_refused_with_414(server: Served) -> None:
    """A path of 9 KiB is refused before routing."""
    with Wire(server) as wire:
        wire.send(request("/" + "a" * 9 * KIB))
        response = wire.response()

    assert response is not None
    assert response.status == 414
    assert json.loads(response.body)["type"] == "/problems/uri-too-long"


def test_huge_headers_do_not_grow_the_worker(server: Served) -> None:
    """A 64 MiB header, and eight 32 MiB ones at once, leave the worker's memory as it was."""
    worker = psutil.Process(server.process.pid)
    with Wire(server) as wire:  # warm up: the first request allocates what every request needs
        wire.send(request(close=True))
        wire.response()
    before = worker.memory_info().rss

    def flood(size: int) -> None:
        with Wire(server) as wire:
            wire.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * size)
            wire.response()

    flood(64 * MIB)
    threads = [threading.Thread(target=flood, args=(32 * MIB,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = worker.memory_info().rss

    assert after - before < 8 * MIB, f"grew from {before / MIB:.1f} to {after / MIB:.1f} MiB"
    with Wire(server) as wire:
        wire.send(request(close=True))
        response = wire.response()
    assert response is not None
    assert response.status == 200


@pytest.mark.slow
def test_a_client_that_sends_its_headers_too_slowly_is_disconnected(server: Served) -> None:
    """One byte a second, or nothing at all: cut after 10 s; quick requests meanwhile are not."""
    started = time.monotonic()
    with Wire(server) as trickle, Wire(server) as silent, Wire(server) as busy:
        trickle.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        slow = {"trickle": trickle, "silent": silent}
        ended: dict[str, float] = {}
        answered = []
        while time.monotonic() - started < HEADER_TIMEOUT + 3:
            if "trickle" not in ended:
                trickle.send(b"a")
            busy.send(request())  # one quick request a second on a keep-alive connection
            answer = busy.response()
            answered.append(answer.status if answer else None)
            waiting = [wire.sock for name, wire in slow.items() if name not in ended]
            readable, _, _ = select.select(waiting, [], [], 1)
            for name, wire in slow.items():
                if wire.sock in readable and wire.ends():
                    ended[name] = time.monotonic() - started

    assert set(ended) == {"trickle", "silent"}
    for name, elapsed in ended.items():
        assert HEADER_TIMEOUT - 0.5 <= elapsed < HEADER_TIMEOUT + 3, (name, elapsed)
    assert len(answered) > HEADER_TIMEOUT
    assert set(answered) == {200}


def test_each_request_of_a_keep_alive_connection_is_counted_on_its_own(server: Served) -> None:
    """Three requests of 12 KiB headers on one connection: 36 KiB together, each within limits."""
    with Wire(server) as wire:
        statuses = []
        for _ in range(3):
            wire.send(request(headers=padding(12 * KIB, 4)))
            response = wire.response()
            statuses.append(response.status if response else None)

    assert statuses == [200, 200, 200]


def test_pipelined_requests_are_each_answered(server: Served) -> None:
    """Two requests of 12 KiB headers in one write get two answers, in order."""
    with Wire(server) as wire:
        wire.send(request(headers=padding(12 * KIB)) + request("/health", close=True))
        first, second = wire.response(), wire.response()

    assert first is not None
    assert first.status == 200
    assert second is not None
    assert second.status in {200, 503}  # /health: whatever the database says
    assert json.loads(second.body)["status"] in {"ok", "unavailable"}


def test_an_oversized_request_pipelined_after_a_good_one_ends_the_connection(
    server: Served,
) -> None:
    """The good request is answered; the oversized one never is, and the connection closes."""
    with Wire(server) as wire:
        wire.send(request() + request(headers=padding(17 * KIB)))
        first = wire.response()
        second = wire.response()

    assert first is not None
    assert first.status == 200
    assert second is None or second.status == 431


def test_a_body_in_the_same_write_as_a_large_head_is_read_whole(server: Served) -> None:
    """A 15 KiB head and a 60 KiB body in one write: the body is parsed (and refused, 422)."""
    body = json.dumps({"refresh_token": "x" * 60 * KIB}).encode()
    raw = request("/api/auth/refresh", padding(15 * KIB, 3), method="POST", body=body, close=True)

    with Wire(server) as wire:
        wire.send(raw)
        response = wire.response()

    assert response is not None
    assert response.status == 422
    assert json.loads(response.body)["errors"][0]["field"] == "refresh_token"


def test_refused_heads_leave_no_trace_in_the_log(server: Served) -> None:
    """A refusal is not an error of the service: no traceback, no warning about invalid HTTP."""
    _refused_with_431(server, request(headers=padding(20 * KIB)))

    log = server.log()

    assert "Traceback" not in log
    assert "Invalid HTTP request" not in log
