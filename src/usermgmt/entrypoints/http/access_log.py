"""Who sent each request, its id, and one log line once it is answered.

The wrapper sits outside the whole application (not a route), so unknown
paths, refused methods and CORS pre-flights are seen too. For each request it

- settles the client: the socket's peer, or, when that peer is a trusted
  proxy, the address it forwarded (``scope["client"]`` and ``scope["scheme"]``
  are rewritten, so the rate limit, the login throttle and everything else
  downstream see the same client);
- gives the request an id: the ``X-Request-ID`` a trusted proxy sent, if it
  is well formed, or a new random one; it is sent back on every response;
- makes that context (address, user agent, id) the current request's for
  the use cases (:func:`usermgmt.domain.context.current_request`);
- logs one line: client address, method, path, status, duration, request id
  (never a header value or a body; query strings are left out, the path alone
  says what was asked), and, for the JSON format, the route's template too;
- hands the route template, status and duration to the metrics, if they are on.
"""

from __future__ import annotations

import logging
import os
import re
import time
from typing import Final, Protocol

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from usermgmt.domain.context import RequestContext, request_context
from usermgmt.entrypoints.http.proxies import TrustedProxies
from usermgmt.entrypoints.logformat import FIELDS

log = logging.getLogger("usermgmt.http")

REQUEST_ID_HEADER: Final = "X-Request-ID"
UNMATCHED: Final = "unmatched"
"""The route of a request that matched no route (404, 405): never the raw path."""

_MAX_PATH: Final = 200
# What a forwarded request id may be: visible ASCII, no spaces, bounded; anything else is replaced.
_REQUEST_ID: Final = re.compile(r"[!-~]{1,128}")
_ID_HEADER: Final = REQUEST_ID_HEADER.lower().encode("ascii")


class RequestObserver(Protocol):
    """What is told about each answered request (the metrics)."""

    def request_done(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count a request to *route* (a template) answered with *status* after *seconds*."""


def _printable(path: str) -> str:
    """Return *path* safe for a log line: no control characters, bounded length."""
    if len(path) > _MAX_PATH:
        path = path[:_MAX_PATH] + "..."
    return path if path.isprintable() else path.encode("unicode_escape").decode("ascii")


def new_request_id() -> str:
    """Return a fresh request id: 128 random bits in hex."""
    return os.urandom(16).hex()


class AccessLog:
    """An ASGI wrapper: the client, the request id and the log line of each HTTP request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        proxies: TrustedProxies | None = None,
        observer: RequestObserver | None = None,
    ) -> None:
        """Serve *app*, believing forwarding headers from *proxies* only; tell *observer*."""
        self.app = app
        self._proxies = proxies or TrustedProxies()
        self._observer = observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Settle the client and the id, serve the request, then log it (also when it failed)."""
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        await self._served(scope, receive, send)

    def _context(self, scope: HTTPScope) -> RequestContext:
        user_agent = ""
        forwarded_for = forwarded_proto = sent_id = None
        for name, value in scope["headers"]:
            if name == b"user-agent":
                user_agent = value.decode("latin-1")
            elif name == b"x-forwarded-for":  # several fields are one list (RFC 9110 §5.3)
                text = value.decode("latin-1")
                forwarded_for = f"{forwarded_for},{text}" if forwarded_for else text
            elif name == b"x-forwarded-proto":
                forwarded_proto = value.decode("latin-1")
            elif name == _ID_HEADER:
                sent_id = value.decode("latin-1")
        client = scope.get("client")
        peer = client[0] if client else ""
        request_id = None
        if self._proxies and self._proxies.trusts(peer):
            forwarded = self._proxies.forwarded(forwarded_for, forwarded_proto)
            if forwarded.client is not None:
                peer = forwarded.client
                scope["client"] = (peer, 0)
            if forwarded.scheme is not None:
                scope["scheme"] = forwarded.scheme
            if sent_id is not None and _REQUEST_ID.fullmatch(sent_id):
                request_id = sent_id
        return RequestContext(
            ip=peer, user_agent=user_agent, request_id=request_id or new_request_id()
        )

    async def _served(self, scope: HTTPScope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        context = self._context(scope)
        id_header = (_ID_HEADER, context.request_id.encode("latin-1"))
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            with request_context(context):
                await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - start
            route = scope.get("path_template") or UNMATCHED
            if self._observer is not None:
                self._observer.request_done(scope["method"], route, status, seconds)
            if log.isEnabledFor(logging.INFO):
                self._log(scope, context, route, status, seconds)

    @staticmethod
    def _log(
        scope: HTTPScope, context: RequestContext, route: str, status: int, seconds: float
    ) -> None:
        path = _printable(scope["path"])
        fields = {
            "event": "request",
            "request_id": context.request_id,
            "method": scope["method"],
            "route": route,
            "path": path,
            "status": status,
            "duration": round(seconds, 6),
            "client_ip": context.ip,
        }
        log.info(
            "%s %s %s %d %.1fms request_id=%s",
            _printable(context.ip),
            scope["method"],
            path,
            status,
            seconds * 1000,
            context.request_id,
            extra={FIELDS: fields},
        )
