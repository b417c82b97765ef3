"""The contract of the ``Mailer`` port, for every adapter that turns a message into MIME.

A subclass provides the ``delivery`` fixture: a mailer sending from
:data:`SENDER`, and a function that returns, parsed, what has arrived where
that mailer delivers (an SMTP server, a directory). The SMTP subclasses live
in ``tests/integration/``, the file and memory ones in ``tests/unit/``.
"""

from __future__ import annotations

from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from usermgmt.domain.mail import Mailbox, MailKind, MailMessage
from usermgmt.ports.mail import Mailer

SENDER = Mailbox("no-reply@example.org", "usermgmt")

Delivery = tuple[Mailer, Callable[[], list[EmailMessage]]]


def message(**changes: object) -> MailMessage:
    """A verification message to Ann, with *changes*."""
    fields: dict[str, object] = {
        "to": Mailbox("ann@example.org", "Ann Example"),
        "subject": "Confirm your email address",
        "text": "Hello Ann,\n\nopen http://127.0.0.1:8000/verify-email#token=abc\n",
        "kind": MailKind.VERIFY_EMAIL,
    }
    return MailMessage(**(fields | changes))  # type: ignore[arg-type]


def parse(raw: bytes) -> EmailMessage:
    """Read *raw* as a mail reader would, UTF-8 headers (RFC 6532) included."""
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    # The parser reads raw UTF-8 in a header as surrogates; read those headers again.
    headers = [(name, str(value)) for name, value in parsed.items()]
    for name, value in headers:
        if not value.isascii():
            del parsed[name]
            parsed[name] = value.encode("utf-8", "surrogateescape").decode("utf-8")
    return parsed


def content(part: EmailMessage) -> str:
    """Return the decoded text of *part*, with the wire's CRLF line ends read as newlines."""
    text: str = part.get_content()
    return text.replace("\r\n", "\n")


class MailerContract:
    """What every MIME-producing mailer guarantees."""

    pytestmark = pytest.mark.anyio

    @pytest.fixture
    def delivery(self) -> Delivery:
        raise NotImplementedError

    async def test_a_message_arrives_with_its_headers_and_text(self, delivery: Delivery) -> None:
        """Sender, recipient, subject and text arrive as sent, marked as automatic."""
        mailer, received = delivery

        await mailer.send(message())

        [got] = received()
        assert got["From"] == "usermgmt <no-reply@example.org>"
        assert got["To"] == "Ann Example <ann@example.org>"
        assert got["Subject"] == "Confirm your email address"
        assert got["Auto-Submitted"] == "auto-generated"
        assert got["Date"] is not None
        assert got.get_content_type() == "text/plain"
        assert content(got) == message().text

    async def test_text_beyond_ascii_survives(self, delivery: Delivery) -> None:
        """A non-ASCII name, subject and body arrive unchanged."""
        mailer, received = delivery
        sent = message(
            to=Mailbox("zoe@example.org", "Zoë Ωμέγα, Jr."),
            subject="Grüße → bestätigen",
            text="Ünïcödé body: ∑ 😀\n" * 3,
        )

        await mailer.send(sent)

        [got] = received()
        assert got["To"].addresses[0].display_name == "Zoë Ωμέγα, Jr."
        assert got["Subject"] == "Grüße → bestätigen"
        assert content(got) == sent.text

    async def test_an_internationalized_address_arrives(self, delivery: Delivery) -> None:
        """A recipient whose address is not ASCII gets the message (SMTPUTF8)."""
        mailer, received = delivery

        await mailer.send(message(to=Mailbox("zoë@exämple.org", "Zoë")))

        [got] = received()
        assert got["To"].addresses[0].addr_spec == "zoë@exämple.org"

    async def test_an_html_part_follows_the_text(self, delivery: Delivery) -> None:
        """With HTML, the message is multipart/alternative: the text first, then the HTML."""
        mailer, received = delivery

        await mailer.send(message(html="<p>Hello <b>Ann</b></p>"))

        [got] = received()
        assert got.get_content_type() == "multipart/alternative"
        text, html = got.iter_parts()
        assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
        assert content(html) == "<p>Hello <b>Ann</b></p>\n"

    async def test_a_message_id_given_is_kept(self, delivery: Delivery) -> None:
        """A message's own id is its Message-ID at the sender's domain, the same every time."""
        mailer, received = delivery

        await mailer.send(message(message_id="outbox-42"))
        await mailer.send(message(message_id="outbox-42"))

        assert [got["Message-ID"] for got in received()] == ["<outbox-42@example.org>"] * 2

    async def test_messages_without_an_id_get_distinct_ones(self, delivery: Delivery) -> None:
        """Each message gets a fresh Message-ID when it has none of its own."""
        mailer, received = delivery

        await mailer.send(message())
        await mailer.send(message())

        first, second = (got["Message-ID"] for got in received())
        assert first != second
        assert first.endswith("@example.org>")

    async def test_extra_headers_arrive(self, delivery: Delivery) -> None:
        """A message's extra headers are sent as given."""
        mailer, received = delivery

        await mailer.send(message(headers=(("List-Unsubscribe", "<mailto:x@example.org>"),)))

        [got] = received()
        assert got["List-Unsubscribe"] == "<mailto:x@example.org>"
