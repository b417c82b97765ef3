"""The per-client-IP rate limit of the sign-in routes, on Litestar's rate-limit middleware.

Routes opt in with ``opt=RATE_LIMITED``; together they share one budget of
``USERMGMT_RATE_LIMIT_PER_MINUTE`` requests per client address and fixed
minute window. The window lives in a store that every instance shares
(Redis, or else PostgreSQL), so adding workers does not multiply the budget.

Every other route is exempt through the application's ``opt``
(``EXEMPT_BY_DEFAULT``), so that the middleware steps aside for it on a
dictionary lookup: an authenticated read pays nothing for the limit.
"""

from __future__ import annotations

from typing import Final

from litestar.middleware.rate_limit import RateLimitConfig

from usermgmt import Settings

STORE: Final = "rate_limit"
"""The name of the store that holds the windows (Litestar's store registry)."""

_EXEMPT: Final = "usermgmt_rate_limit_exempt"
EXEMPT_BY_DEFAULT: Final = {_EXEMPT: True}
"""The application's ``opt``: routes are not rate-limited unless they say so."""
RATE_LIMITED: Final = {_EXEMPT: False}
"""The ``opt`` of a rate-limited route (a route's ``opt`` overrides the application's)."""


def rate_limit(settings: Settings) -> RateLimitConfig | None:
    """Return the rate-limit configuration, or ``None`` when the limit is 0 (disabled)."""
    if settings.rate_limit_per_minute <= 0:
        return None
    return RateLimitConfig(
        rate_limit=("minute", settings.rate_limit_per_minute),
        exclude_opt_key=_EXEMPT,
        store=STORE,
    )
