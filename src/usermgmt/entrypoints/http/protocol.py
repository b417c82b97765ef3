"""uvicorn's httptools protocol with bounded request heads.

httptools (llhttp) keeps no limit of its own: it buffers a header value of
any size until the value ends, and uvicorn waits for a head for as long as
the client cares to send it. This protocol bounds both, per request, before
anything reaches the application:

- the header fields (each name, value, ``": "`` and CRLF) at most
  :data:`MAX_HEADER_BYTES` in total, at most :data:`MAX_HEADER_FIELDS` of
  them: otherwise 431;
- the request target at most :data:`MAX_TARGET_BYTES`: otherwise 414;
- the whole head within :data:`HEADER_TIMEOUT` seconds of its first byte (of
  the connection, for the first request): otherwise the connection is closed.

The parser is never handed more of one head than the limits allow (plus
room for the method, version and white space), so a 64 MiB header costs a
few KiB of memory, not 64 MiB. Counting follows the parser's own callbacks,
so keep-alive and pipelined requests are each counted on their own.

Refused requests are answered with a problem detail and the connection is
closed; if an earlier pipelined request is still being answered, that answer
completes first and the connection closes after it.
"""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus
from typing import Any, Final

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.server import ServerState

MAX_HEADER_BYTES: Final = 16 * 1024
"""The header fields of one request, in bytes: names, values, ``": "`` and CRLF."""

MAX_HEADER_FIELDS: Final = 100
"""Header fields in one request."""

MAX_TARGET_BYTES: Final = 8 * 1024
"""The request target (path and query) of one request, in bytes."""

HEADER_TIMEOUT: Final = 10.0
"""Seconds from a request's first byte (or the connection's opening) to the end of its headers."""

# What the parser may be handed of one head: the limits above, and room for the rest of the
# request line and the white space around values, which the callbacks do not report.
_MAX_HEAD_BYTES: Final = MAX_TARGET_BYTES + MAX_HEADER_BYTES + 1024

_DETAILS: Final = {
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE: (
        "headers-too-large",
        f"The request headers exceed {MAX_HEADER_BYTES // 1024} KiB or {MAX_HEADER_FIELDS} fields.",
    ),
    HTTPStatus.REQUEST_URI_TOO_LONG: (
        "uri-too-long",
        f"The request target exceeds {MAX_TARGET_BYTES // 1024} KiB.",
    ),
}


def _refusal(status: HTTPStatus, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """Return the whole response that refuses a head: a problem detail, then close."""
    slug, detail = _DETAILS[status]
    body = json.dumps(
        {
            "type": f"/problems/{slug}",
            "title": status.phrase,
            "status": int(status),
            "detail": detail,
        }
    ).encode()
    lines = [STATUS_LINE[status]]
    lines += [name + b": " + value + b"\r\n" for name, value in default_headers]
    lines += [
        b"content-type: application/problem+json\r\n",
        b"content-length: %d\r\n" % len(body),
        b"connection: close\r\n\r\n",
        body,
    ]
    return b"".join(lines)


class _HeadRefusedError(Exception):
    """Raised inside a parser callback to stop the parser at once."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` with bounded request heads (see the module's documentation).

    Pass the class itself to ``uvicorn.run(http=...)``.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        """Take uvicorn's arguments, as the parent does."""
        super().__init__(config, server_state, app_state, _loop)
        self._head_open = True  # from the end of one message (or the start) to the end of a head
        self._head_fed = 0  # bytes of the current head handed to the parser
        self._header_bytes = 0
        self._header_fields = 0
        self._head_started: float | None = None  # loop time of the open head's first byte
        self._head_timer: asyncio.TimerHandle | None = None
        self._refused = False  # answered (or about to be) and closing: read nothing more
        self._refusal_status: HTTPStatus | None = None

    # --- the connection -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # as the parent
        """Start the first head's clock as soon as the client connects."""
        super().connection_made(transport)
        self._head_started = self.loop.time()
        self._watch_head()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the head clock with the connection."""
        self._unwatch_head()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Hand *data* to the parser, never more of one head than the limits allow."""
        if self._refused:
            return  # the answer is written or due; the rest of the stream is not read
        self._unset_keepalive_if_required()
        if not self._head_open:
            self._feed(data)
        elif len(data) <= _MAX_HEAD_BYTES - self._head_fed:  # the common case: it all fits
            self._head_fed += len(data)
            self._feed(data)
        else:
            self._feed_bounded(memoryview(data))

    def _feed_bounded(self, rest: memoryview) -> None:
        while rest and not self._refused:
            if not self._head_open:
                self._feed(rest)
                return
            room = _MAX_HEAD_BYTES - self._head_fed
            if room <= 0:
                self._refuse(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
                return
            chunk, rest = rest[:room], rest[room:]
            self._head_fed += len(chunk)
            self._feed(chunk)

    def _feed(self, data: bytes | memoryview) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self._refusal_status is not None:
                self._refuse(self._refusal_status)
                return
            message = "Invalid HTTP request received."
            self.logger.warning(message)
            self.send_400_response(message)
            self._refused = True
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()

    # --- parser callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        """Start counting a new head, and its clock (the first head's runs since connecting)."""
        super().on_message_begin()
        self._header_bytes = 0
        self._header_fields = 0
        if self._head_started is None:
            self._head_started = self.loop.time()
            self._watch_head()

    def on_url(self, url: bytes) -> None:
        """Refuse a request target longer than :data:`MAX_TARGET_BYTES`."""
        super().on_url(url)
        if len(self.url) > MAX_TARGET_BYTES:
            self._stop(HTTPStatus.REQUEST_URI_TOO_LONG)

    def on_header(self, name: bytes, value: bytes) -> None:
        """Count the field; refuse the request once the fields exceed the limits."""
        self._header_fields += 1
        self._header_bytes += len(name) + len(value) + 4
        if self._header_fields > MAX_HEADER_FIELDS or self._header_bytes > MAX_HEADER_BYTES:
            self._stop(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        """The head is complete and within bounds: stop its clock, hand it to the application."""
        self._head_open = False
        self._head_started = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The next bytes begin a new head."""
        super().on_message_complete()
        self._head_open = True
        self._head_fed = 0

    # --- refusing -----------------------------------------------------------------------

    def _stop(self, status: HTTPStatus) -> None:
        self._refusal_status = status
        raise _HeadRefusedError  # httptools turns it into HttpParserError in _feed

    def _refuse(self, status: HTTPStatus | None) -> None:
        """Answer *status* (or nothing) and close; after the pending answer, if there is one."""
        self._refused = True
        self._unwatch_head()
        cycle: RequestResponseCycle | None = self.cycle  # None before the first complete head
        if cycle is not None and not cycle.response_complete:
            cycle.keep_alive = False  # the connection closes once that answer is sent
            return
        if status is not None:
            self.transport.write(_refusal(status, self.server_state.default_headers))
        self.transport.close()

    # One timer per connection, not one per request: arming and cancelling a timer for every
    # request would cost more than the rest of this class. It fires at the earliest moment the
    # open head can be late, and then either closes the connection or waits for the next head.

    def _watch_head(self) -> None:
        if self._head_timer is None and self._head_started is not None:
            deadline = self._head_started + HEADER_TIMEOUT
            self._head_timer = self.loop.call_at(deadline, self._check_head)

    def _unwatch_head(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _check_head(self) -> None:
        self._head_timer = None
        if self._head_started is None or self._refused or self.transport.is_closing():
            return  # no head is open; the next one arms the timer again
        if self.loop.time() < self._head_started + HEADER_TIMEOUT:
            self._watch_head()  # a newer head opened since this timer was set
            return
        self._refuse(None)
