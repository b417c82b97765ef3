"""Sessions: how long their tokens live, and how long a spent refresh token is forgiven."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

import attrs

SESSIONS_LISTED_MAX: Final = 1000
"""A listing of one user's sessions shows at most this many, the newest.

Each login starts a session that lives until it expires, so a script that
signs in in a loop could otherwise make one answer as large as it likes.
"""


@attrs.frozen(kw_only=True)
class SessionPolicy:
    """How long tokens live, and how long a spent refresh token is forgiven."""

    access_token_ttl: timedelta = timedelta(minutes=15)
    refresh_token_ttl: timedelta = timedelta(days=30)
    """The absolute lifetime of a session: refreshing does not extend it."""
    reuse_grace: timedelta = timedelta(seconds=10)
    """A spent refresh token presented this soon after its rotation is refused
    without revoking the session (two tabs refreshing at once); zero turns it off."""
