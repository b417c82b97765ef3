"""Queueing mail in a unit of work, and sending it: the outbox's mail subscriber.

A flow queues a message with :class:`QueueMail`, which renders its template
and records a :class:`MailRequested` event in the unit of work of the change
that causes it, so the message exists if and only
if the change commits, and no request waits on a mail server. The running
service's dispatcher hands each one to :class:`DeliverMail`: a failure worth
retrying comes back with the dispatcher's back-off (1 s, doubling, up to an
hour between attempts) until ``USERMGMT_MAIL_MAX_ATTEMPTS``; then, or at once
for a failure no retry can mend, the message is marked failed and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal

import attrs

from usermgmt.domain.context import current_request
from usermgmt.domain.errors import PermanentMailError, TransientMailError, ValidationError
from usermgmt.domain.events import Delivery, MailRequested
from usermgmt.domain.mail import Mailbox, MailKind
from usermgmt.domain.templates import MailTemplates
from usermgmt.ports import Clock, Repositories
from usermgmt.ports.mail import Mailer
from usermgmt.usecases.events import GiveUpDelivery

log = logging.getLogger("usermgmt.mail")

Outcome = Literal["sent", "failed"]
"""What became of a message: sent, or given up for good."""


@attrs.frozen(kw_only=True)
class QueueMail:
    """Render a template and queue its message in a unit of work: how a flow sends mail.

    *templates* returns the loaded templates (they are loaded on first use).
    """

    _templates: Callable[[], MailTemplates]
    _clock: Clock

    def link(self, page: str, token: str) -> str:
        """Return the link to *page* with *token* in its fragment (see ``MailTemplates.link``)."""
        return self._templates().link(page, token)

    async def __call__(
        self, tx: Repositories, kind: MailKind, to: Mailbox, **values: str
    ) -> MailRequested:
        """Queue the *kind* message to *to* in *tx*, with *kind*'s placeholders in *values*.

        The message is sent if and only if *tx* commits. Returns the event recorded.

        Raises:
            TypeError: *values* are not exactly *kind*'s placeholders.
            ConfigurationError: the templates cannot be loaded.
        """
        message = self._templates().compose(kind, to, **values)
        queued = MailRequested.of(message, at=self._clock.now(), context=current_request())
        await tx.outbox.add(queued)
        return queued


def message_id(delivery: Delivery[MailRequested]) -> str:
    """Return the id a queued message is sent with, the same on every attempt.

    The outbox id tells messages apart; the time they were queued tells apart
    the deployments that share a sender's domain.
    """
    return f"usermgmt-{int(delivery.event.at.timestamp())}-{delivery.id}"


@attrs.frozen(kw_only=True)
class DeliverMail:
    """Send one queued message through the mailer; subscribed to :class:`MailRequested`."""

    _mailer: Mailer
    _max_attempts: int
    _observers: list[Callable[[Outcome], None]] = attrs.field(factory=list, init=False)

    def observe(self, observer: Callable[[Outcome], None]) -> None:
        """Call *observer* with ``"sent"`` or ``"failed"`` as each message is settled.

        A retried failure is not settled: it is counted when it is finally
        sent or given up.
        """
        self._observers.append(observer)

    def _settled(self, outcome: Outcome) -> None:
        for observer in self._observers:
            observer(outcome)

    async def __call__(self, delivery: Delivery[MailRequested]) -> None:
        """Send the message of *delivery*.

        Raises:
            TransientMailError: not sent this time; the dispatcher retries later.
            GiveUpDelivery: never to be sent: refused for good, or still failing
                at the last attempt.
        """
        queued = delivery.event
        what = f"{queued.kind} mail {delivery.id}"
        try:
            await self._mailer.send(queued.message(message_id(delivery)))
        except ValidationError as exc:
            self._settled("failed")
            raise GiveUpDelivery(f"{what} cannot be sent: {exc}") from exc
        except PermanentMailError as exc:
            self._settled("failed")
            raise GiveUpDelivery(f"{what} was refused for good: {exc.detail}") from exc
        except TransientMailError as exc:
            if delivery.attempt >= self._max_attempts:
                self._settled("failed")
                msg = f"{what} still failed at attempt {delivery.attempt}: {exc.detail}"
                raise GiveUpDelivery(msg) from exc
            raise
        self._settled("sent")
        log.info("sent %s (attempt %d)", what, delivery.attempt)
