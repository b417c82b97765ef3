"""Helpers for testing programs that embed usermgmt, without a database or waiting.

:func:`memory_service` builds the real service on the in-memory adapters
(the same contract tests run against them and against PostgreSQL), with
password hashing at argon2's cheapest so that a test suite stays fast.
Hand it a :class:`ManualClock` and move time with ``clock.advance()``:
token expiry, the login throttle's locks and the refresh grace window
follow without sleeping. Use it as ``async with memory_service() as um``
from async tests, or ``with memory_service().blocking() as um`` from
plain ones; see ``docs/library.md``, "Testing code that embeds usermgmt".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from usermgmt._service import UserManagement
from usermgmt.adapters.clock import ManualClock
from usermgmt.adapters.mail import InMemoryMailer
from usermgmt.ports import Clock
from usermgmt.ports.mail import Mailer
from usermgmt.settings import Settings

__all__ = ["InMemoryMailer", "ManualClock", "memory_service"]

# argon2's cheapest parameters (argon2-cffi's ``profiles.CHEAPEST``): never for real passwords.
_CHEAPEST_HASHING: Final[Mapping[str, int]] = {
    "argon2_time_cost": 1,
    "argon2_memory_cost": 8,
    "argon2_parallelism": 1,
}


def memory_service(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    cheap_hashing: bool = True,
    mailer: Mailer | None = None,
) -> UserManagement:
    """Return a service on in-memory storage, for tests: nothing persists, nothing to set up.

    Args:
        settings: the service's settings (default: ``Settings()``, the built-in defaults).
        clock: where the service reads the time; pass a :class:`ManualClock` to move it.
        cheap_hashing: hash passwords with argon2's cheapest parameters (time cost 1,
            8 KiB, one lane) instead of those in *settings*.
        mailer: what sends the service's mail; an :class:`InMemoryMailer` keeps
            each message in its ``sent`` list (default: the settings' mail URL,
            the log unless set).

    Returns:
        A :class:`usermgmt.UserManagement`, not yet opened: use it as an async
        context manager, or call ``.blocking()`` on it.
    """
    settings = settings or Settings()
    if cheap_hashing:
        settings = settings.evolve(**_CHEAPEST_HASHING)
    return UserManagement.in_memory(settings, clock=clock, mailer=mailer)
