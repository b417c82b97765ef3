"""Use cases of keeping the store tidy: purging what has expired or was delivered."""

from __future__ import annotations

from datetime import timedelta

import attrs

from usermgmt.domain.rules.throttle import LoginThrottlePolicy
from usermgmt.ports import Clock, LoginAttemptStore, OutboxStore, UnitOfWork
from usermgmt.usecases.audit import purge_audit

PURGE_AFTER = timedelta(days=1)
"""Ended sessions, expired device tokens, stale throttle counters and delivered events are
kept this long."""


@attrs.frozen(kw_only=True)
class PurgeExpired:
    """Delete what can no longer matter, a day after it stopped mattering.

    Ended sessions (with their refresh tokens) and expired device tokens go a
    day after they ended; a throttle counter goes a day after the throttle
    forgot it; a delivered event a day after its delivery (events given up
    stay for an operator). The day keeps recent history for whoever
    investigates an incident, and makes a purge racing a login harmless.
    Audit rows go after *audit_retention*; a purge that deleted some records
    an ``audit_purged`` row.
    """

    _uow: UnitOfWork
    _outbox: OutboxStore
    _attempts: LoginAttemptStore
    _throttle: LoginThrottlePolicy
    _clock: Clock
    _audit_retention: timedelta = timedelta(days=365)

    async def __call__(self) -> int:
        """Delete sessions, device tokens, counters and delivered events done with a day ago.

        And audit rows older than the retention.

        Returns how many rows went.
        """
        now = self._clock.now()
        before = now - PURGE_AFTER
        async with self._uow.standalone() as repos:
            sessions = await repos.sessions.purge(before)
            devices = await repos.devices.purge(before)
            devices += await repos.one_time_tokens.purge(before)
            devices += await repos.ceremonies.purge(before)
        counters = await self._attempts.purge(before - self._throttle.forget_after)
        events = await self._outbox.purge(before)
        audit = await purge_audit(
            self._uow, now - self._audit_retention, now=now, actor=None, quiet=True
        )
        return sessions + devices + counters + events + audit
