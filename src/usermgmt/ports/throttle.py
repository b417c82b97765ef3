"""The login throttle's store: failure counters shared by every instance, outside transactions."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from usermgmt.domain.rules.throttle import LoginAttempt, Reservation


class LoginAttemptStore(Protocol):
    """Counters of consecutive failed logins, shared by every instance.

    A login attempt is reserved before its password is verified and counted
    as a failure at once; a success forgives it. Every method is one atomic
    step, so concurrent attempts are counted as if they came one by one.
    """

    async def reserve(self, attempt: LoginAttempt, now: datetime) -> Reservation:
        """Admit *attempt* at *now* and count it under each of its counters, or refuse it.

        In one atomic step: if no counter of *attempt* is locked by its
        schedule, each counter counts one more failure at *now* (starting again
        from one when its last failure is older than the schedule forgets);
        otherwise nothing changes. Returns the decision with the counters'
        records after it.
        """
        ...

    async def release(self, attempt: LoginAttempt, reserved_at: datetime) -> None:
        """Take back the failure that an admitted *attempt* reserved at *reserved_at*.

        For an attempt whose password could not be verified at all: each
        counter counts one failure less and, when no later reservation came
        in meanwhile, its last failure is the one before again.
        """
        ...

    async def clear(self, attempt: LoginAttempt) -> None:
        """Forget the failures under each counter of *attempt* (after its success)."""
        ...

    async def clear_account(self, account: str) -> None:
        """Forget the failures under every counter of *account* (after a password change)."""
        ...

    async def purge(self, before: datetime) -> int:
        """Forget counters whose last failure came before *before*; return how many."""
        ...
