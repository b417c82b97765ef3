"""Delivery of queued mail over every outbox adapter: sent once, retried, given up, logged.

A subclass provides the ``outbox`` fixture of ``tests.outbox_contract``; a
dispatcher with the mail subscriber runs on it with a manual clock.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from tests.contracts import NOW
from tests.dispatch_contract import LEASE
from tests.mail_contract import message
from tests.outbox_contract import Outbox
from usermgmt import ManualClock, PermanentMailError, TransientMailError
from usermgmt.domain.events import MailRequested, RequestContext
from usermgmt.domain.mail import MailMessage
from usermgmt.domain.rules.delivery import DeliveryPolicy
from usermgmt.usecases.events import DispatchEvents
from usermgmt.usecases.mail import DeliverMail


class ScriptedMailer:
    """A mailer that fails with *failures*, one per attempt, then sends into ``sent``."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.tries: list[MailMessage] = []
        self.sent: list[MailMessage] = []

    async def send(self, message: MailMessage) -> None:
        self.tries.append(message)
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)


def queued(**changes: object) -> MailRequested:
    """A verification message for Ann, queued at NOW."""
    return MailRequested.of(message(**changes), at=NOW, context=RequestContext(ip="192.0.2.1"))


class MailDeliveryContract:
    """What the mail subscriber guarantees on any outbox."""

    pytestmark = pytest.mark.anyio

    @pytest.fixture
    def outbox(self) -> Outbox:
        raise NotImplementedError

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(NOW)

    def dispatcher(
        self,
        outbox: Outbox,
        clock: ManualClock,
        mailer: ScriptedMailer,
        max_attempts: int = 10,
        outcomes: list[str] | None = None,
    ) -> DispatchEvents:
        policy = DeliveryPolicy(lease=LEASE)
        dispatch = DispatchEvents(store=outbox.store, clock=clock, policy=policy)
        deliver = DeliverMail(mailer=mailer, max_attempts=max_attempts)
        if outcomes is not None:
            deliver.observe(outcomes.append)
        dispatch.subscribe(MailRequested, deliver)
        return dispatch

    async def test_a_queued_message_is_sent_once_with_an_id_of_its_own(
        self, outbox: Outbox, clock: ManualClock
    ) -> None:
        """The message goes out as queued, once, carrying an id made from its outbox row."""
        mailer = ScriptedMailer()
        await outbox.add(queued(html="<p>hi</p>"))
        dispatch = self.dispatcher(outbox, clock, mailer)

        await dispatch()
        clock.advance(timedelta(days=1))
        await dispatch()

        [sent] = mailer.sent
        assert (sent.to, sent.subject, sent.text, sent.html) == (
            message().to,
            message().subject,
            message().text,
            "<p>hi</p>",
        )
        assert sent.message_id is not None
        assert sent.message_id.startswith(f"usermgmt-{int(NOW.timestamp())}-")

    async def test_a_message_of_a_rolled_back_change_is_never_sent(
        self, outbox: Outbox, clock: ManualClock
    ) -> None:
        """Queued in a transaction that fails, the message leaves with it."""
        mailer = ScriptedMailer()

        async def fail() -> None:
            async with outbox.uow() as tx:
                await tx.outbox.add(queued())
                raise RuntimeError

        with pytest.raises(RuntimeError):
            await fail()
        await self.dispatcher(outbox, clock, mailer)()

        assert mailer.tries == []

    async def test_a_transient_failure_is_retried_after_a_growing_delay(
        self, outbox: Outbox, clock: ManualClock
    ) -> None:
        """Server down twice: tried again after 1 s, then 2 s, with the same Message-ID."""
        mailer = ScriptedMailer(TransientMailError("down"), TransientMailError("down"))
        await outbox.add(queued())
        dispatch = self.dispatcher(outbox, clock, mailer)

        await dispatch()
        clock.advance(timedelta(milliseconds=900))
        await dispatch()  # too early: nothing is tried
        tries_before_back_off = len(mailer.tries)
        clock.advance(timedelta(milliseconds=100))
        await dispatch()
        clock.advance(timedelta(seconds=2))
        await dispatch()

        assert tries_before_back_off == 1
        assert len(mailer.tries) == 3
        assert len(mailer.sent) == 1
        assert len({tried.message_id for tried in mailer.tries}) == 1

    async def test_a_permanent_failure_is_given_up_at_once_and_logged(
        self, outbox: Outbox, clock: ManualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Credentials refused: one attempt, an error in the log, and the message is failed."""
        mailer = ScriptedMailer(PermanentMailError("SMTP server refused the login: 535"))
        await outbox.add(queued())
        dispatch = self.dispatcher(outbox, clock, mailer)

        with caplog.at_level(logging.WARNING, logger="usermgmt.events"):
            for _ in range(3):
                await dispatch()
                clock.advance(timedelta(hours=1))

        assert len(mailer.tries) == 1
        assert mailer.sent == []
        [error] = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert error.levelno == logging.ERROR
        assert "verify-email mail" in error.getMessage()
        assert "refused for good: SMTP server refused the login: 535" in error.getMessage()
        clock.advance(timedelta(days=30))
        assert await outbox.store.claim(clock.now(), limit=10, lease=LEASE) == []

    async def test_after_the_last_mail_attempt_the_message_is_given_up_and_logged(
        self, outbox: Outbox, clock: ManualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A server that stays down: tried USERMGMT_MAIL_MAX_ATTEMPTS times, then failed."""
        mailer = ScriptedMailer(*(TransientMailError("down") for _ in range(100)))
        await outbox.add(queued())
        dispatch = self.dispatcher(outbox, clock, mailer, max_attempts=3)

        with caplog.at_level(logging.WARNING, logger="usermgmt.events"):
            for _ in range(6):
                await dispatch()
                clock.advance(timedelta(hours=1))

        assert len(mailer.tries) == 3
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(warnings) == 2  # the two retries
        [error] = errors
        assert "still failed at attempt 3: down" in error.getMessage()
        clock.advance(timedelta(days=30))
        assert await outbox.store.claim(clock.now(), limit=10, lease=LEASE) == []

    async def test_each_message_is_observed_once_when_it_is_settled(
        self, outbox: Outbox, clock: ManualClock
    ) -> None:
        """Observers hear "sent" or "failed" once per message; a retry is not an outcome."""
        mailer = ScriptedMailer(TransientMailError("down"), PermanentMailError("550 no such user"))
        await outbox.add(queued(subject="first"), queued(subject="second"))
        outcomes: list[str] = []
        dispatch = self.dispatcher(outbox, clock, mailer, outcomes=outcomes)

        for _ in range(4):
            await dispatch()
            clock.advance(timedelta(minutes=1))

        assert [tried.subject for tried in mailer.tries] == ["first", "second", "first"]
        assert [sent.subject for sent in mailer.sent] == ["first"]
        assert outcomes == ["failed", "sent"]

    async def test_messages_are_sent_in_the_order_they_were_queued(
        self, outbox: Outbox, clock: ManualClock
    ) -> None:
        """One pass sends every due message, oldest first."""
        mailer = ScriptedMailer()
        await outbox.add(*(queued(subject=f"message {n}") for n in range(5)))

        await self.dispatcher(outbox, clock, mailer)()

        assert [sent.subject for sent in mailer.sent] == [f"message {n}" for n in range(5)]
