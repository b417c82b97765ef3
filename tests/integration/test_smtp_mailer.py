"""The SMTP mailer against a real SMTP server: every scheme, AUTH, and each kind of failure."""

from __future__ import annotations

import socket

import anyio
import pytest

from tests.mail_contract import SENDER, Delivery, MailerContract, message, parse
from tests.mailserver import MailServer, StartMailServer
from usermgmt.adapters.mail import mailer_from_url
from usermgmt.domain.errors import PermanentMailError, TransientMailError
from usermgmt.domain.mail import Mailbox

pytestmark = pytest.mark.anyio

USERS = {"ann": "s3cret pass:word/@"}
_QUOTED = "s3cret%20pass%3Aword%2F%40"  # the password as a URL carries it


def _received(server: MailServer) -> Delivery:
    mailer = mailer_from_url(server.url("smtp+tls", user="ann", password=_QUOTED), sender=SENDER)
    return mailer, lambda: [parse(got.as_bytes()) for got in server.messages]


class TestSmtpMailer(MailerContract):
    @pytest.fixture
    def delivery(self, mail_server: StartMailServer) -> Delivery:
        return _received(mail_server(tls="starttls", users=USERS))


class TestSmtpsMailer(MailerContract):
    @pytest.fixture
    def delivery(self, mail_server: StartMailServer) -> Delivery:
        server = mail_server(tls="implicit", users=USERS)
        mailer = mailer_from_url(server.url("smtps", user="ann", password=_QUOTED), sender=SENDER)
        return mailer, lambda: [parse(got.as_bytes()) for got in server.messages]


@pytest.mark.parametrize(
    ("scheme", "tls", "encrypted"),
    [
        ("smtp", "none", False),  # a server without STARTTLS: plain text
        ("smtp", "starttls", True),  # STARTTLS taken when offered
        ("smtp+tls", "starttls", True),
        ("smtps", "implicit", True),
    ],
)
async def test_each_scheme_delivers(
    mail_server: StartMailServer, scheme: str, tls: str, encrypted: bool
) -> None:
    """Every SMTP URL form gets the message to the server, over TLS where it says so."""
    server = mail_server(tls=tls)  # type: ignore[arg-type]  # one of the three modes
    mailer = mailer_from_url(server.url(scheme), sender=SENDER)

    await mailer.send(message())

    assert [got["Subject"] for got in server.messages] == ["Confirm your email address"]
    assert server.encrypted == [encrypted]
    [envelope] = server.envelopes
    assert (envelope.mail_from, envelope.rcpt_tos) == ("no-reply@example.org", ["ann@example.org"])


@pytest.mark.parametrize(("scheme", "tls"), [("smtp+tls", "starttls"), ("smtps", "implicit")])
async def test_the_url_logs_in_with_its_user_and_password(
    mail_server: StartMailServer, scheme: str, tls: str
) -> None:
    """AUTH uses the URL's user and its percent-decoded password."""
    server = mail_server(tls=tls, users=USERS)  # type: ignore[arg-type]
    mailer = mailer_from_url(server.url(scheme, user="ann", password=_QUOTED), sender=SENDER)

    await mailer.send(message())

    assert len(server.messages) == 1
    assert server.logins in (["PLAIN ann"], ["LOGIN ann"])


async def test_an_internationalized_address_travels_as_smtputf8(
    mail_server: StartMailServer,
) -> None:
    """A non-ASCII recipient is sent with SMTPUTF8 (RFC 6531) to a server that offers it."""
    server = mail_server(tls="starttls")
    mailer = mailer_from_url(server.url("smtp+tls"), sender=SENDER)

    await mailer.send(message(to=Mailbox("zoë@exämple.org", "Zoë")))

    [envelope] = server.envelopes
    assert envelope.rcpt_tos == ["zoë@exämple.org"]
    assert envelope.smtp_utf8


async def test_a_wrong_password_is_a_permanent_failure_that_hides_it(
    mail_server: StartMailServer,
) -> None:
    """Refused credentials will be refused again: permanent, and the message names no password."""
    server = mail_server(tls="starttls", users=USERS)
    mailer = mailer_from_url(server.url("smtp+tls", user="ann", password="wrong-pw"), sender=SENDER)

    with pytest.raises(PermanentMailError, match="refused the login: 535") as caught:
        await mailer.send(message())

    assert "wrong-pw" not in str(caught.value)
    assert "wrong-pw" not in repr(mailer)
    assert server.messages == []


async def test_a_password_is_never_sent_in_clear_text(mail_server: StartMailServer) -> None:
    """smtp:// to a server without STARTTLS that would take a login: refused before AUTH."""
    server = mail_server(tls="none", users=USERS)
    mailer = mailer_from_url(server.url("smtp", user="ann", password=_QUOTED), sender=SENDER)

    with pytest.raises(PermanentMailError, match="in clear text") as caught:
        await mailer.send(message())

    assert server.logins == []
    assert server.messages == []
    assert "s3cret" not in str(caught.value)


async def test_a_server_that_is_down_is_a_transient_failure(
    mail_server: StartMailServer,
) -> None:
    """A server that was stopped refuses connections: the message may go through later."""
    server = mail_server(tls="starttls")
    mailer = mailer_from_url(server.url("smtp+tls"), sender=SENDER)
    server.stop()

    with pytest.raises(TransientMailError, match="cannot be reached"):
        await mailer.send(message())


async def test_a_server_that_never_answers_times_out_as_a_transient_failure() -> None:
    """A port that accepts connections but sends no greeting fails within the URL's timeout."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        mailer = mailer_from_url(f"smtp://127.0.0.1:{port}?timeout=0.5", sender=SENDER)

        with anyio.fail_after(5), pytest.raises(TransientMailError, match="did not answer"):
            await mailer.send(message())


async def test_starttls_required_but_not_offered_is_a_permanent_failure(
    mail_server: StartMailServer,
) -> None:
    """smtp+tls:// never falls back to plain text: without STARTTLS nothing is sent."""
    server = mail_server(tls="none")
    mailer = mailer_from_url(server.url("smtp+tls"), sender=SENDER)

    with pytest.raises(PermanentMailError, match="STARTTLS"):
        await mailer.send(message())

    assert server.messages == []


@pytest.mark.parametrize(("scheme", "tls"), [("smtp+tls", "starttls"), ("smtps", "implicit")])
async def test_an_untrusted_certificate_is_a_permanent_failure(
    mail_server: StartMailServer, scheme: str, tls: str
) -> None:
    """Without the server's authority (no cafile) the certificate is refused, and nothing sent."""
    server = mail_server(tls=tls)  # type: ignore[arg-type]
    mailer = mailer_from_url(f"{scheme}://127.0.0.1:{server.port}?timeout=5", sender=SENDER)

    with pytest.raises(PermanentMailError, match="certificate is not trusted"):
        await mailer.send(message())

    assert server.messages == []


@pytest.mark.parametrize(
    ("answer", "failure"),
    [("550 5.1.1 no such user", PermanentMailError), ("451 4.3.0 try later", TransientMailError)],
)
async def test_a_refused_recipient_fails_by_the_class_of_the_answer(
    mail_server: StartMailServer, answer: str, failure: type[Exception]
) -> None:
    """5xx means "never", 4xx means "not now"."""
    server = mail_server(tls="starttls")
    server.handler.refuse_recipients_with = answer
    mailer = mailer_from_url(server.url("smtp+tls"), sender=SENDER)

    with pytest.raises(failure, match=answer.split(maxsplit=1)[0]):
        await mailer.send(message())
