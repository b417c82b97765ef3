"""Events on PostgreSQL: what each use case records, and delivery across instances and restarts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import anyio
import pytest

from tests.recorded_events import PASSWORD, Events, RecordedEventsContract
from usermgmt import ManualClock, Settings, UserManagement, VerificationMode
from usermgmt.domain.rules.delivery import DeliveryPolicy
from usermgmt.events import Delivery, Event, UserRegistered

pytestmark = pytest.mark.anyio

LEASE = DeliveryPolicy().lease


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings without verification mail: these tests count the events of a change."""
    return settings.evolve(email_verification=VerificationMode.OFF)


class TestPostgresRecordedEvents(RecordedEventsContract):
    @pytest.fixture
    async def um(
        self, empty_database: str, settings: Settings, clock: ManualClock
    ) -> AsyncIterator[UserManagement]:
        async with UserManagement.from_url(empty_database, settings, clock=clock) as service:
            yield service


async def test_two_instances_at_once_deliver_each_event_exactly_once(
    empty_database: str, settings: Settings
) -> None:
    """Two services, two pools, one database: every event reaches one of them, once.

    There are more events than one claim takes, so both instances get some.
    """
    clock = ManualClock()
    delivered: list[tuple[str, int]] = []
    async with (
        UserManagement.from_url(empty_database, settings, clock=clock) as first,
        UserManagement.from_url(empty_database, settings, clock=clock) as second,
    ):
        for n in range(250):
            await first.register_user(f"user{n}@example.org", PASSWORD)
        for name, service in (("first", first), ("second", second)):

            async def keep(delivery: Delivery[Event], name: str = name) -> None:
                delivered.append((name, delivery.id))
                await anyio.sleep(0.001)  # a subscriber that does some I/O

            service.subscribe(UserRegistered, keep)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(first.dispatch_events)
            tasks.start_soon(second.dispatch_events)

    ids = [event_id for _, event_id in delivered]
    assert len(ids) == len(set(ids)) == 250
    assert {name for name, _ in delivered} == {"first", "second"}


async def test_what_a_dead_instance_had_claimed_is_delivered_after_a_restart(
    empty_database: str, settings: Settings
) -> None:
    """An instance dies mid-delivery; the next one to start delivers its events after the lease."""
    clock = ManualClock()
    started = anyio.Event()

    async def stuck(_: Delivery[Event]) -> None:
        started.set()
        await anyio.sleep_forever()

    async with UserManagement.from_url(empty_database, settings, clock=clock) as dying:
        user = await dying.register_user("ann@example.org", PASSWORD)
        dying.subscribe(Event, stuck)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(dying.dispatch_events)
            await started.wait()
            tasks.cancel_scope.cancel()  # killed: the event stays leased

    async with UserManagement.from_url(empty_database, settings, clock=clock) as restarted:
        received: list[Delivery[Event]] = []

        async def keep(delivery: Delivery[Event]) -> None:
            received.append(delivery)

        restarted.subscribe(Event, keep)
        during = await restarted.dispatch_events()
        clock.advance(LEASE)
        after = await restarted.dispatch_events()

    assert (during, after) == (0, 1)
    (delivery,) = received
    assert isinstance(delivery.event, UserRegistered)
    assert (delivery.event.user_id, delivery.attempt) == (user.id, 2)


async def test_delivered_events_are_purged_a_day_after_delivery(
    empty_database: str, settings: Settings
) -> None:
    """The periodic purge deletes delivered events once a day old, and only those."""
    clock = ManualClock()
    async with UserManagement.from_url(empty_database, settings, clock=clock) as um:
        events = Events(um)
        await um.register_user("ann@example.org", PASSWORD)
        await events.new()
        await um.register_user("bob@example.org", PASSWORD)  # stored, not yet delivered

        clock.advance(timedelta(days=1, seconds=1))
        purged = await um.purge_expired()
        left = await events.new()

    assert purged == 1
    assert [type(e) for e in left] == [UserRegistered]
