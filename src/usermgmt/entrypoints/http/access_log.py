"""One log line per HTTP request: method, path, status, duration; never a header or body.

It wraps the whole application (not a route), so unknown paths, refused
methods and CORS pre-flights are logged too. Query strings are left out:
the path alone says what was asked.
"""

from __future__ import annotations

import logging
import time
from typing import Final

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

log = logging.getLogger("usermgmt.http")

_MAX_PATH: Final = 200


def _printable(path: str) -> str:
    """Return *path* safe for a log line: no control characters, bounded length."""
    if len(path) > _MAX_PATH:
        path = path[:_MAX_PATH] + "..."
    return path if path.isprintable() else path.encode("unicode_escape").decode("ascii")


class AccessLog:
    """An ASGI wrapper that logs each HTTP request once it is answered."""

    def __init__(self, app: ASGIApp) -> None:
        """Log the requests that *app* serves."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, then log it (also when it failed)."""
        if scope["type"] != ScopeType.HTTP or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        await self._logged(scope, receive, send)

    async def _logged(self, scope: HTTPScope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            log.info(
                "%s %s %d %.1fms",
                scope["method"],
                _printable(scope["path"]),
                status,
                (time.perf_counter() - start) * 1000,
            )
