"""The events each use case records, on the in-memory adapters."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.recorded_events import RecordedEventsContract
from usermgmt import ManualClock, Settings, UserManagement

pytestmark = pytest.mark.anyio


class TestInMemoryRecordedEvents(RecordedEventsContract):
    @pytest.fixture
    async def um(self, settings: Settings, clock: ManualClock) -> AsyncIterator[UserManagement]:
        async with UserManagement.in_memory(settings, clock=clock) as service:
            yield service
