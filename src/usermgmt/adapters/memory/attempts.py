"""Failed-login counters in memory."""

from __future__ import annotations

from datetime import datetime

import attrs

from usermgmt.adapters.memory.database import InMemoryDatabase, StoredCounter
from usermgmt.domain.rules.throttle import LoginAttempt, Reservation


class InMemoryLoginAttemptStore:
    """Failed-login counters in a dict.

    Each method runs without awaiting between its check and its write, so on
    the one event loop that owns the store every call is atomic.
    """

    def __init__(self, db: InMemoryDatabase | None = None) -> None:
        """Keep the counters in *db* (a new one by default)."""
        self._db = db or InMemoryDatabase()

    async def reserve(self, attempt: LoginAttempt, now: datetime) -> Reservation:
        """Admit and count *attempt*, or refuse it (see ``LoginAttemptStore.reserve``)."""
        counters = self._db.counters
        found = [counters.get(c.key) for c in attempt.counters]
        records = tuple(c.record() if c else None for c in found)
        if any(attempt.waits(records, now)):
            return Reservation(admitted=False, records=records)
        stale_before = attempt.schedule.stale_before(now)
        for counter, old in zip(attempt.counters, found, strict=True):
            fresh = old is None or old.last_failure_at < stale_before
            counters[counter.key] = StoredCounter(
                account=attempt.account,
                failures=1 if old is None or fresh else old.failures + 1,
                last_failure_at=now,
                previous_failure_at=None if old is None else old.last_failure_at,
            )
        return Reservation(
            admitted=True, records=tuple(counters[c.key].record() for c in attempt.counters)
        )

    async def release(self, attempt: LoginAttempt, reserved_at: datetime) -> None:
        """Take back one reserved failure under each counter of *attempt*."""
        for counter in attempt.counters:
            old = self._db.counters.get(counter.key)
            if old is None:
                continue
            latest = old.last_failure_at == reserved_at  # no later reservation moved it
            self._db.counters[counter.key] = attrs.evolve(
                old,
                failures=max(old.failures - 1, 0),
                last_failure_at=(old.previous_failure_at if latest else None)
                or old.last_failure_at,
                previous_failure_at=None if latest else old.previous_failure_at,
            )

    async def clear(self, attempt: LoginAttempt) -> None:
        """Forget the counters of *attempt*."""
        for counter in attempt.counters:
            self._db.counters.pop(counter.key, None)

    async def clear_account(self, account: str) -> None:
        """Forget every counter of *account*."""
        for key in [k for k, c in self._db.counters.items() if c.account == account]:
            del self._db.counters[key]

    async def purge(self, before: datetime) -> int:
        """Forget counters idle since before *before*."""
        stale = [k for k, c in self._db.counters.items() if c.last_failure_at < before]
        for key in stale:
            del self._db.counters[key]
        return len(stale)
