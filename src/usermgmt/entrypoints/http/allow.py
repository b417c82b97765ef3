"""``Allow``: every method a path accepts, on ``OPTIONS`` and on a 405.

Litestar answers ``OPTIONS`` with a handler it makes when it builds a path's
route. A controller registers its handlers one at a time, and each one
rebuilds the route of its path but keeps the ``OPTIONS`` handler of the first
build, which lists only the methods known then: ``OPTIONS /api/users/{id}``
said ``DELETE, OPTIONS``. ``AllowedMethods`` learns each path's methods from
the finished application and answers ``OPTIONS`` for those generated
handlers itself (a route that declares its own ``OPTIONS`` handler keeps
it). A 405 lists the same methods, in the same order (``problems.py``).
``HEAD`` is listed only where a route declares it: Litestar does not derive
it from ``GET``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Receive, Scope, Send

_ORDER: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_GENERATED: Final = "HTTPRoute.create_options_handler."


def allow_header(methods: Iterable[str]) -> str:
    """Return *methods* as an ``Allow`` value: each once, reads before writes, ``OPTIONS`` last."""
    known = {method.strip().upper() for method in methods} - {""}
    return ", ".join(
        sorted(known, key=lambda m: (_ORDER.index(m) if m in _ORDER else len(_ORDER), m))
    )


class AllowedMethods:
    """A middleware that answers ``OPTIONS`` with the whole ``Allow`` of the path.

    Build it, pass :meth:`middleware` to the application, then let it
    :meth:`learn` the application's routes.
    """

    def __init__(self) -> None:
        """Start knowing no routes: every request passes until :meth:`learn`."""
        self._allow: dict[object, bytes] = {}

    def learn(self, app: Litestar) -> None:
        """Find the methods of every path of *app*, keyed by its generated ``OPTIONS`` handler."""
        for route in app.routes:
            if isinstance(route, HTTPRoute):
                header = allow_header(route.methods).encode("ascii")
                for handler, _ in route.route_handler_map.values():
                    if _is_generated(handler):
                        self._allow[handler] = header

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """Return *app* with ``OPTIONS`` answered here (Litestar's middleware protocol)."""
        allow = self._allow

        async def answer(scope: Scope, receive: Receive, send: Send) -> None:
            header = (
                allow.get(scope["route_handler"])
                if scope["type"] == ScopeType.HTTP and scope["method"] == "OPTIONS"
                else None
            )
            if header is None:
                await app(scope, receive, send)
                return
            await send(
                {"type": "http.response.start", "status": 204, "headers": [(b"allow", header)]}
            )
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        return answer


def _is_generated(handler: HTTPRouteHandler) -> bool:
    """Say whether *handler* is the ``OPTIONS`` handler Litestar made, not one a route declared."""
    return handler.http_methods == {"OPTIONS"} and handler.fn.__qualname__.startswith(_GENERATED)
