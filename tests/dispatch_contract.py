"""The dispatcher over every outbox adapter: subscriptions, retries, giving up, leases, races.

A subclass provides the ``outbox`` fixture of ``tests.outbox_contract``; the
dispatchers here run on it with a manual clock standing at the events' time.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import anyio
import anyio.lowlevel
import pytest

from tests.contracts import NOW
from tests.outbox_contract import Outbox, event, sample_events
from usermgmt import ManualClock
from usermgmt.domain.events import Delivery, Event, LoggedIn, SessionsRevoked
from usermgmt.domain.rules.delivery import DeliveryPolicy
from usermgmt.usecases.events import DispatchEvents, GiveUpDelivery

LEASE = timedelta(minutes=1)


class Recorder:
    """A subscriber that keeps what it was handed, and fails its first *failures* calls."""

    def __init__(self, failures: int = 0) -> None:
        self.deliveries: list[Delivery[Event]] = []
        self.failures = failures

    async def __call__(self, delivery: Delivery[Event]) -> None:
        self.deliveries.append(delivery)
        await anyio.lowlevel.checkpoint()  # let a dispatcher racing this one take its turn
        if self.failures > 0:
            self.failures -= 1
            msg = "the subscriber is down"
            raise RuntimeError(msg)

    @property
    def events(self) -> list[Event]:
        return [d.event for d in self.deliveries]

    @property
    def attempts(self) -> list[tuple[int, int]]:
        return [(d.id, d.attempt) for d in self.deliveries]


class DispatcherContract:
    """What the dispatcher guarantees on any outbox."""

    @pytest.fixture
    def outbox(self) -> Outbox:
        raise NotImplementedError

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(NOW)

    def dispatcher(self, outbox: Outbox, clock: ManualClock, **policy: object) -> DispatchEvents:
        numbers = {"lease": LEASE, **policy}
        return DispatchEvents(
            store=outbox.store,
            clock=clock,
            policy=DeliveryPolicy(**numbers),  # type: ignore[arg-type]  # the test's numbers
        )

    async def test_each_subscriber_gets_the_events_of_its_type(
        self, outbox: Outbox, clock: ManualClock
    ) -> None:
        """A subscriber of one type gets only that type; a subscriber of ``Event`` gets all."""
        events = sample_events()
        await outbox.add(*events)
        dispatch = self.dispatcher(outbox, clock)
        logins, everything = Recorder(), Recorder()
        dispatch.subscribe(LoggedIn, logins)
        dispatch.subscribe(Event, everything)

        delivered = await dispatch()

        assert delivered == len(events)
        assert everything.events == events
        assert logins.events == [e for e in events if isinstance(e, LoggedIn)]
        assert [d.attempt for d in everything.deliveries] == [1] * len(events)

    async def test_a_delivered_event_is_not_delivered_again(
        self, outbox: Outbox, clock: ManualClock
    ) -> None:
        """Once delivered, an event is settled: later passes, lease or not, hand it to nobody."""
        await outbox.add(event(1))
        dispatch = self.dispatcher(outbox, clock)
        recorder = Recorder()
        dispatch.subscribe(Event, recorder)
        await dispatch()
        clock.advance(timedelta(days=1))

        again = await dispatch()

        assert again == 0
        assert recorder.events == [event(1)]

    async def test_an_event_nobody_subscribes_to_is_settled(
        self, outbox: Outbox, clock: ManualClock
    ) -> None:
        """Events of a type without subscribers do not pile up: they count as delivered."""
        await outbox.add(event(1), event(2))
        dispatch = self.dispatcher(outbox, clock)
        dispatch.subscribe(LoggedIn, Recorder())

        delivered = await dispatch()

        assert delivered == 2
        clock.advance(timedelta(days=1))
        assert await outbox.store.claim(clock.now(), limit=10, lease=LEASE) == []

    async def test_an_ended_subscription_gets_nothing_more(
        self, outbox: Outbox, clock: ManualClock
    ) -> None:
        """The function ``subscribe`` returns ends the subscription, harmlessly twice."""
        dispatch = self.dispatcher(outbox, clock)
        recorder = Recorder()
        unsubscribe = dispatch.subscribe(Event, recorder)
        await outbox.add(event(1))
        await dispatch()

        unsubscribe()
        unsubscribe()
        await outbox.add(event(2))
        await dispatch()

        assert recorder.events == [event(1)]

    async def test_a_failed_delivery_comes_again_after_a_doubling_back_off(
        self, outbox: Outbox, clock: ManualClock
    ) -> None:
        """A subscriber that fails gets the event again 1 s later, then 2 s after that."""
        await outbox.add(event(1))
        dispatch = self.dispatcher(outbox, clock)
        recorder = Recorder(failures=2)
        dispatch.subscribe(Event, recorder)

        first = await dispatch()
        clock.advance(timedelta(milliseconds=999))
        too_early = await dispatch()
        clock.advance(timedelta(milliseconds=1))
        second = await dispatch()
        clock.advance(timedelta(milliseconds=1999))
        still_early = await dispatch()
        clock.advance(timedelta(milliseconds=1))
        third = await dispatch()

        assert (first, too_early, second, still_early, third) == (0, 0, 0, 0, 1)
        (event_id,) = {i for i, _ in recorder.attempts}
        assert recorder.attempts == [(event_id, 1), (event_id, 2), (event_id, 3)]

    async def test_every_subscriber_gets_the_event_again_when_one_fails(
        self, outbox: Outbox, clock: ManualClock
    ) -> None:
        """A retry goes to every subscriber of the event: why subscribers must be idempotent."""
        await outbox.add(event(1))
        dispatch = self.dispatcher(outbox, clock)
        steady, flaky = Recorder(), Recorder(failures=1)
        dispatch.subscribe(Event, steady)
        dispatch.subscribe(Event, flaky)

        await dispatch()
        clock.advance(timedelta(seconds=1))
        await dispatch()

        assert [d.attempt for d in steady.deliveries] == [1, 2]
        assert len({d.id for d in steady.deliveries}) == 1
        assert [d.attempt for d in flaky.deliveries] == [1, 2]

    async def test_after_the_last_attempt_the_event_is_given_up_and_logged(
        self, outbox: Outbox, clock: ManualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        """After *max_attempts* failures the event is never handed out again; an error says so."""
        await outbox.add(event(1))
        dispatch = self.dispatcher(outbox, clock, max_attempts=3)
        recorder = Recorder(failures=1000)
        dispatch.subscribe(Event, recorder)

        with caplog.at_level(logging.WARNING, logger="usermgmt.events"):
            for _ in range(6):
                await dispatch()
                clock.advance(timedelta(hours=1))

        assert [a for _, a in recorder.attempts] == [1, 2, 3]
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1
        assert "gave up" in errors[0].getMessage()
        assert "after 3 attempts" in errors[0].getMessage()
        assert "RuntimeError: the subscriber is down" in errors[0].getMessage()
        clock.advance(timedelta(days=30))
        assert await outbox.store.claim(clock.now(), limit=10, lease=LEASE) == []

    async def test_a_subscriber_that_gives_up_fails_the_event_at_once(
        self, outbox: Outbox, clock: ManualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        """GiveUpDelivery settles the event as failed on its first attempt, with its reason."""
        await outbox.add(event(1))
        dispatch = self.dispatcher(outbox, clock, max_attempts=5)
        attempts: list[int] = []

        async def refuse(delivery: Delivery[Event]) -> None:
            attempts.append(delivery.attempt)
            raise GiveUpDelivery("the address was refused for good")

        dispatch.subscribe(Event, refuse)

        with caplog.at_level(logging.WARNING, logger="usermgmt.events"):
            for _ in range(3):
                await dispatch()
                clock.advance(timedelta(hours=1))

        assert attempts == [1]
        [error] = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert error.levelno == logging.ERROR
        assert "gave up" in error.getMessage()
        assert "the address was refused for good" in error.getMessage()
        clock.advance(timedelta(days=30))
        assert await outbox.store.claim(clock.now(), limit=10, lease=LEASE) == []

    async def test_a_subscriber_that_hangs_fails_its_attempt_at_the_timeout(
        self, outbox: Outbox, clock: ManualClock
    ) -> None:
        """A subscriber may not hold an event for ever: past the timeout the attempt failed."""
        await outbox.add(event(1))
        dispatch = self.dispatcher(outbox, clock, handler_timeout=timedelta(milliseconds=50))
        calls: list[int] = []

        async def hang(delivery: Delivery[Event]) -> None:
            calls.append(delivery.attempt)
            await anyio.sleep_forever()

        dispatch.subscribe(Event, hang)

        with anyio.fail_after(5):
            delivered = await dispatch()
        clock.advance(timedelta(seconds=1))
        with anyio.fail_after(5):
            await dispatch()

        assert delivered == 0
        assert calls == [1, 2]

    async def test_two_dispatchers_at_once_deliver_each_event_exactly_once(
        self, outbox: Outbox, clock: ManualClock
    ) -> None:
        """Dispatchers racing over one outbox split its events: none is handed out twice."""
        await outbox.add(*(event(n) for n in range(60)))
        recorder = Recorder()
        dispatchers = [self.dispatcher(outbox, clock, batch_size=7) for _ in range(2)]
        for dispatch in dispatchers:
            dispatch.subscribe(Event, recorder)
        counts: list[int] = []

        async def run(dispatch: DispatchEvents) -> None:
            counts.append(await dispatch())

        async with anyio.create_task_group() as tasks:
            for dispatch in dispatchers:
                tasks.start_soon(run, dispatch)

        ids = [d.id for d in recorder.deliveries]
        assert len(ids) == len(set(ids)) == 60
        assert sum(counts) == 60
        counts_seen = sorted(e.count for e in recorder.events if isinstance(e, SessionsRevoked))
        assert counts_seen == list(range(60))

    async def test_an_event_held_by_a_dispatcher_that_died_is_delivered_after_its_lease(
        self, outbox: Outbox, clock: ManualClock
    ) -> None:
        """The events a dead dispatcher had claimed go to another once their lease is over."""
        await outbox.add(event(1))
        dying = self.dispatcher(outbox, clock)
        started = anyio.Event()

        async def stuck(_: Delivery[Event]) -> None:
            started.set()
            await anyio.sleep_forever()

        dying.subscribe(Event, stuck)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(dying)
            await started.wait()
            tasks.cancel_scope.cancel()  # the process dies mid-delivery
        survivor = self.dispatcher(outbox, clock)
        recorder = Recorder()
        survivor.subscribe(Event, recorder)

        clock.advance(LEASE - timedelta(seconds=1))
        during = await survivor()
        clock.advance(timedelta(seconds=1))
        after = await survivor()

        assert (during, after) == (0, 1)
        assert [(d.event, d.attempt) for d in recorder.deliveries] == [(event(1), 2)]

    async def test_a_batch_starts_no_delivery_that_could_outlast_its_lease(
        self, outbox: Outbox, clock: ManualClock
    ) -> None:
        """Slow subscribers: what the lease cannot cover waits out the lease, never runs twice."""
        await outbox.add(event(1), event(2), event(3))
        lease = timedelta(milliseconds=400)
        dispatch = self.dispatcher(
            outbox, clock, lease=lease, handler_timeout=timedelta(milliseconds=300)
        )
        handled: list[Event] = []

        async def slow(delivery: Delivery[Event]) -> None:
            if delivery.event == event(1):
                await anyio.sleep(0.15)  # past the last start the lease leaves room for
            handled.append(delivery.event)

        dispatch.subscribe(Event, slow)

        first = await dispatch()
        clock.advance(lease)
        rest = await dispatch()

        assert (first, rest) == (1, 2)
        assert handled == [event(1), event(2), event(3)]
