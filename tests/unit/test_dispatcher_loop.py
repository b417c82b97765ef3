"""The running dispatcher: it delivers in the background and rides out an outage quietly."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

import anyio
import pytest

from tests.contracts import NOW
from tests.outbox_contract import Outbox, event
from usermgmt import ManualClock, UnavailableError
from usermgmt.adapters.memory import InMemoryOutboxStore, InMemoryUnitOfWork
from usermgmt.domain.events import Delivery, Event, PendingEvent
from usermgmt.domain.rules.delivery import DeliveryPolicy
from usermgmt.usecases.events import DispatchEvents

pytestmark = pytest.mark.anyio

POLL = timedelta(milliseconds=10)


class FlakyStore(InMemoryOutboxStore):
    """The in-memory outbox, with a database that can be switched off."""

    down = False
    claims = 0

    async def claim(self, now: datetime, *, limit: int, lease: timedelta) -> Sequence[PendingEvent]:
        self.claims += 1
        if self.down:
            raise UnavailableError
        return await super().claim(now, limit=limit, lease=lease)


async def test_the_dispatcher_backs_off_while_the_database_is_away_and_resumes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Failed passes space out (10 ms doubling), each logged once; back up, events flow again."""
    uow = InMemoryUnitOfWork()
    store = FlakyStore(uow.db.outbox)
    dispatch = DispatchEvents(
        store=store, clock=ManualClock(NOW), policy=DeliveryPolicy(poll_interval=POLL)
    )
    received: list[Event] = []
    arrived = anyio.Event()

    async def keep(delivery: Delivery[Event]) -> None:
        received.append(delivery.event)
        arrived.set()

    dispatch.subscribe(Event, keep)
    store.down = True

    with caplog.at_level(logging.WARNING, logger="usermgmt.events"):
        async with dispatch.running():
            await anyio.sleep(0.35)  # without back-off: 35 passes
            failed_claims = store.claims
            store.down = False
            await Outbox(uow, store).add(event(1))
            with anyio.fail_after(5):
                await arrived.wait()

    assert 2 <= failed_claims <= 8
    assert received == [event(1)]
    warnings = [r.getMessage() for r in caplog.records if r.name == "usermgmt.events"]
    assert len(warnings) == failed_claims
    assert all(w.startswith("could not dispatch events, again in") for w in warnings)
