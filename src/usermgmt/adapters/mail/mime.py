"""A :class:`MailMessage` as the bytes a mail server receives (RFC 5322 and MIME)."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from usermgmt.domain.mail import Mailbox, MailMessage


def _address(mailbox: Mailbox) -> Address:
    # By its parts: the email package refuses to parse a non-ASCII local part (RFC 6531).
    local, _, domain = mailbox.address.rpartition("@")
    return Address(display_name=mailbox.name, username=local, domain=domain)


def needs_smtputf8(message: MailMessage, sender: Mailbox) -> bool:
    """Whether an address is not ASCII, so it must travel as UTF-8 (RFC 6531)."""
    return not (message.to.address.isascii() and sender.address.isascii())


def to_mime(message: MailMessage, sender: Mailbox, *, now: datetime | None = None) -> EmailMessage:
    """Return *message* from *sender* as a MIME message, dated *now* (default: the real time).

    The text is the first part; an HTML alternative follows it. The
    ``Message-ID`` is the message's own id at the sender's domain, or a fresh
    one. ``Auto-Submitted: auto-generated`` (RFC 3834) keeps vacation
    responders from answering.
    """
    mime = EmailMessage(policy=policy.SMTPUTF8 if needs_smtputf8(message, sender) else policy.SMTP)
    domain = sender.address.rpartition("@")[2]
    mime["From"] = _address(sender)
    mime["To"] = _address(message.to)
    mime["Subject"] = message.subject
    mime["Date"] = format_datetime(now or datetime.now(UTC))
    mime["Message-ID"] = (
        f"<{message.message_id}@{domain}>" if message.message_id else make_msgid(domain=domain)
    )
    mime["Auto-Submitted"] = "auto-generated"
    for name, value in message.headers:
        mime[name] = value
    mime.set_content(message.text)
    if message.html is not None:
        mime.add_alternative(message.html, subtype="html")
    return mime
