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

from usermgmt.domain.events import NO_CONTEXT, RequestContext

NO_REQUEST: Final = NO_CONTEXT
"""The context outside any request: no address, no user agent, no id."""

__all__ = ["NO_REQUEST", "RequestContext", "current_request", "request_context"]

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
