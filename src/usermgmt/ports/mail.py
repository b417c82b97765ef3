"""Sending mail: the one thing the flows need from a mail system."""

from __future__ import annotations

from typing import Protocol

from usermgmt.domain.mail import MailMessage


class Mailer(Protocol):
    """Hands messages to a mail system (an SMTP server, a directory, the log, a list).

    The sender is the mailer's own (``USERMGMT_MAIL_FROM``): a message names
    only its recipient. A mailer is cheap to keep and holds no connection
    between messages, so it needs no opening or closing.
    """

    async def send(self, message: MailMessage) -> None:
        """Deliver *message* to the mail system, or raise.

        Returning means the system accepted the message. A delivery that is
        retried after an error may reach the recipient twice (the server may
        have taken it just before the connection broke); a message with a
        ``message_id`` is sent with the same ``Message-ID`` every time, so
        that mail readers can tell.

        Raises:
            TransientMailError: it may go through later (server down or slow,
                a 4xx answer): retry with back-off.
            PermanentMailError: it will fail again as it is (credentials or
                recipient refused, a 5xx answer, mail disabled): give up.
        """
        ...
