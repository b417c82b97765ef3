"""Handing the outbox's events to their subscribers: the dispatcher.

Delivery is at least once, claims exactly once. A pass leases a batch of
due events (no other dispatcher, in this process or another instance, gets
them while the lease holds), hands each to every subscriber of its type, in
the order they were stored, and marks it delivered. When a subscriber
raises or takes longer than the handler timeout, the event is retried with
back-off, to every subscriber again, so subscribers must be idempotent
(:attr:`Delivery.id` tells a repeat); after the last attempt it is given
up, logged and kept; a subscriber that knows an event can never be
delivered raises :class:`GiveUpDelivery` to give it up at once. A
dispatcher that dies mid-batch leaves its events
leased; any dispatcher delivers them once the lease has run out.

Only deliveries that can finish inside the lease are started: when the rest
of a batch would outlast it, the rest waits out its lease instead, so two
dispatchers never work on one event at once.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final, NoReturn, TypeVar

import anyio
import attrs

from usermgmt.domain.errors import UserMgmtError
from usermgmt.domain.events import Delivery, Event, PendingEvent
from usermgmt.domain.rules.delivery import DeliveryPolicy
from usermgmt.ports import Clock, OutboxStore

log = logging.getLogger("usermgmt.events")

E = TypeVar("E", bound=Event)

Handler = Callable[[Delivery[E]], Awaitable[object]]
"""A subscriber: awaited with each delivery of the events it subscribed to."""

_MAX_PAUSE: Final = 60.0
"""Seconds a running dispatcher waits at most between passes while passes fail."""

_ERROR_MAX_LENGTH: Final = 1000
"""The stored reason of a failed attempt is cut to this many characters."""


@attrs.define
class GiveUpDelivery(Exception):  # noqa: N818 - an instruction to the dispatcher, not an error
    """Raised by a subscriber: this event can never be delivered, so it fails now, not later.

    The dispatcher marks the event failed at once (as after its last attempt)
    and logs *reason*; no other attempt follows.
    """

    reason: str

    def __str__(self) -> str:
        """Return the reason."""
        return self.reason


def _describe(exc: BaseException) -> str:
    if isinstance(exc, GiveUpDelivery):
        return str(exc)[:_ERROR_MAX_LENGTH]
    text = str(exc)
    return (f"{type(exc).__name__}: {text}" if text else type(exc).__name__)[:_ERROR_MAX_LENGTH]


@attrs.define(kw_only=True)
class DispatchEvents:
    """Deliver every due event to its subscribers, once per call (one pass).

    :meth:`subscribe` adds a subscriber; :meth:`run` passes over the outbox
    for ever, and :meth:`running` does so for the length of a ``with`` block.
    """

    _store: OutboxStore
    _clock: Clock
    _policy: DeliveryPolicy = attrs.field(factory=DeliveryPolicy)
    _subscriptions: list[tuple[type[Event], Handler[Any]]] = attrs.field(factory=list, init=False)

    def subscribe(self, kind: type[E], handler: Handler[E]) -> Callable[[], None]:
        """Hand every event that is a *kind* to *handler* (``Event`` itself: every event).

        Returns a function that ends the subscription.
        """
        entry: tuple[type[Event], Handler[Any]] = (kind, handler)
        self._subscriptions.append(entry)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscriptions.remove(entry)

        return unsubscribe

    async def __call__(self) -> int:
        """Deliver the events due now, batch after batch, until none is left; return how many.

        Events that fail are scheduled again and not counted. Database
        failures propagate: the events claimed stay leased and come again.
        """
        delivered = 0
        limit = self._policy.batch_size
        while True:
            claimed_at = anyio.current_time()
            batch = await self._store.claim(
                self._clock.now(), limit=limit, lease=self._policy.lease
            )
            last_start = (
                claimed_at
                + self._policy.lease.total_seconds()
                - self._policy.handler_timeout.total_seconds()
            )
            for pending in batch:
                if anyio.current_time() > last_start:
                    break  # it could outlast the lease: it waits for the lease to run out
                delivered += await self._deliver(pending)
            if len(batch) < limit:
                return delivered

    async def run(self) -> NoReturn:
        """Pass over the outbox every poll interval until cancelled; log what goes wrong.

        After a failed pass (the database is away, say) the pause doubles, up
        to a minute, and comes back to the poll interval after a pass that
        worked: an outage costs a log line a minute, not one a second.
        """
        failures = 0
        while True:
            try:
                await self()
            except Exception as exc:  # a dispatcher that stops would stop every subscriber
                failures += 1
                pause = self._pause(failures)
                if isinstance(exc, UserMgmtError):
                    log.warning("could not dispatch events, again in %g s: %s", pause, exc)
                else:
                    log.exception("could not dispatch events, again in %g s", pause)
            else:
                failures = 0
            await anyio.sleep(self._pause(failures))

    def _pause(self, failures: int) -> float:
        poll = self._policy.poll_interval.total_seconds()
        return min(poll * (1 << min(failures, 16)), max(poll, _MAX_PAUSE))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run :meth:`run` in the background for the length of the ``async with`` block."""
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self.run)
            try:
                yield
            finally:
                tasks.cancel_scope.cancel()

    async def _deliver(self, pending: PendingEvent) -> int:
        """Hand *pending* to its subscribers and settle it; return 1 if it was delivered."""
        event = pending.event
        try:
            if event is None:  # stored by a newer version: one of its dispatchers will know it
                msg = f"unknown event type {pending.type_name!r}"
                raise LookupError(msg)  # noqa: TRY301 - settled like any failed attempt
            delivery = Delivery(id=pending.id, event=event, attempt=pending.attempts)
            handlers = [h for kind, h in list(self._subscriptions) if isinstance(event, kind)]
            with anyio.fail_after(self._policy.handler_timeout.total_seconds()):
                for handler in handlers:
                    await handler(delivery)
        except Exception as exc:  # noqa: BLE001 - whatever a subscriber raises is a failed attempt
            await self._failed(pending, exc)
            return 0
        await self._store.delivered(pending.id, self._clock.now())
        return 1

    async def _failed(self, pending: PendingEvent, exc: Exception) -> None:
        now = self._clock.now()
        error = _describe(exc)
        if isinstance(exc, GiveUpDelivery) or self._policy.gives_up_after(pending.attempts):
            await self._store.give_up(pending.id, now, error=error)
            log.error(
                "gave up delivering event %d (%s) after %d attempts: %s",
                pending.id,
                pending.type_name,
                pending.attempts,
                error,
            )
            return
        retry_at = now + self._policy.retry_delay(pending.attempts)
        await self._store.retry(pending.id, at=retry_at, error=error)
        log.warning(
            "delivering event %d (%s) failed (attempt %d), retrying at %s: %s",
            pending.id,
            pending.type_name,
            pending.attempts,
            retry_at.isoformat(),
            error,
        )
