"""The request a use case runs for: the client's address, its user agent, the request id.

The HTTP face sets it for the length of each request (see
:func:`request_context`); anything that records who did what (audit rows,
domain events) reads :func:`current_request` instead of threading the values
through every call. Outside a request, or from the CLI, it is
:data:`NO_REQUEST`. A context variable follows the request into its tasks and
worker threads, and never leaks from one request into another.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import attrs

MAX_USER_AGENT: Final = 512
"""Characters of a ``User-Agent`` that are kept; the rest is cut off."""


def _truncated(user_agent: str) -> str:
    return user_agent[:MAX_USER_AGENT]


@attrs.frozen(kw_only=True)
class RequestContext:
    """Who sent the request being served: what an audit row records about it."""

    ip: str = ""
    """The client's address: the socket's peer, or what a trusted proxy forwarded."""
    user_agent: str = attrs.field(default="", converter=_truncated)
    """The ``User-Agent`` header, at most :data:`MAX_USER_AGENT` characters."""
    request_id: str = ""
    """The ``X-Request-ID`` of the request (generated, or kept from a trusted proxy)."""


NO_REQUEST: Final = RequestContext()
"""The context outside any request: no address, no user agent, no id."""

_CURRENT: Final[contextvars.ContextVar[RequestContext]] = contextvars.ContextVar(
    "usermgmt_request", default=NO_REQUEST
)


def current_request() -> RequestContext:
    """Return the context of the request being served (:data:`NO_REQUEST` outside one)."""
    return _CURRENT.get()


@contextmanager
def request_context(context: RequestContext) -> Iterator[RequestContext]:
    """Make *context* the current request's for the ``with`` block, then restore the previous."""
    token = _CURRENT.set(context)
    try:
        yield context
    finally:
        _CURRENT.reset(token)
