"""Use cases of keeping the store tidy: purging what has expired."""

from __future__ import annotations

from datetime import timedelta

import attrs

from usermgmt.domain.rules.throttle import LoginThrottlePolicy
from usermgmt.ports import Clock, LoginAttemptStore, UnitOfWork

PURGE_AFTER = timedelta(days=1)
"""Ended sessions, expired device tokens and stale throttle counters are kept this long."""


@attrs.frozen(kw_only=True)
class PurgeExpired:
    """Delete what can no longer matter, a day after it stopped mattering.

    Ended sessions (with their refresh tokens) and expired device tokens go a
    day after they ended; a throttle counter goes a day after the throttle
    forgot it. The day keeps recent history for whoever investigates an
    incident, and makes a purge racing a login harmless.
    """

    _uow: UnitOfWork
    _attempts: LoginAttemptStore
    _throttle: LoginThrottlePolicy
    _clock: Clock

    async def __call__(self) -> int:
        """Delete sessions, device tokens and throttle counters that ended a day ago or more.

        Returns how many rows went.
        """
        before = self._clock.now() - PURGE_AFTER
        async with self._uow.standalone() as repos:
            sessions = await repos.sessions.purge(before)
            devices = await repos.devices.purge(before)
        counters = await self._attempts.purge(before - self._throttle.forget_after)
        return sessions + devices + counters
