"""Unit-test fixtures: the real service on in-memory adapters and a manual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from usermgmt import ManualClock, Settings, UserManagement


@pytest.fixture
def clock() -> ManualClock:
    """A clock that moves only when the test says so."""
    return ManualClock()


@pytest.fixture
async def um(settings: Settings, clock: ManualClock) -> AsyncIterator[UserManagement]:
    """Yield an open in-memory service on the manual clock."""
    async with UserManagement.in_memory(settings, clock=clock) as service:
        yield service
