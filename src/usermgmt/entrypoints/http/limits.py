"""The per-client-IP rate limit of the sign-in routes, on Litestar's rate-limit middleware.

Routes opt in with ``opt=RATE_LIMITED``; together they share one budget of
``USERMGMT_RATE_LIMIT_PER_MINUTE`` requests per client address and fixed
minute window. The window lives in a store that every instance shares
(Redis, or else PostgreSQL), so adding workers does not multiply the budget.

Every other route is exempt through the application's ``opt``
(``EXEMPT_BY_DEFAULT``), so that the middleware steps aside for it on a
dictionary lookup: an authenticated read pays nothing for the limit.

A client is the address of the socket's peer (IPv6 grouped by /64, the
block one subscriber gets), and its window is stored under a SHA-256 digest
of that address: no header value and no address reaches a store key.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

from litestar import Request
from litestar.middleware.rate_limit import RateLimitConfig

from usermgmt import Settings
from usermgmt.domain.rules.throttle import client_of

STORE: Final = "rate_limit"
"""The name of the store that holds the windows (Litestar's store registry)."""

_EXEMPT: Final = "usermgmt_rate_limit_exempt"
EXEMPT_BY_DEFAULT: Final = {_EXEMPT: True}
"""The application's ``opt``: routes are not rate-limited unless they say so."""
RATE_LIMITED: Final = {_EXEMPT: False}
"""The ``opt`` of a rate-limited route (a route's ``opt`` overrides the application's)."""


def client_identifier(request: Request[Any, Any, Any]) -> str:
    """Return the rate-limit identifier of *request*'s client: a digest of its address block."""
    host = request.client.host if request.client else ""
    return hashlib.sha256(client_of(host).encode("utf-8", "surrogatepass")).hexdigest()


def rate_limit(settings: Settings) -> RateLimitConfig | None:
    """Return the rate-limit configuration, or ``None`` when the limit is 0 (disabled)."""
    if settings.rate_limit_per_minute <= 0:
        return None
    return RateLimitConfig(
        rate_limit=("minute", settings.rate_limit_per_minute),
        exclude_opt_key=_EXEMPT,
        identifier_for_request=client_identifier,
        store=STORE,
    )
