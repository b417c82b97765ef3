"""A real SMTP server in the test process (aiosmtpd), with STARTTLS, implicit TLS and AUTH.

``MailServer.start(...)`` runs one on a free port of 127.0.0.1, in a thread
of its own, and keeps what it receives in ``messages`` (parsed) and
``envelopes`` (who from, to whom). Its certificate is issued for 127.0.0.1 and
localhost by a throwaway authority (trustme), whose PEM file is ``cafile``.
The ``mail_server`` fixture (registered in ``tests/conftest.py``) starts
servers on demand and stops every one it started.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Literal, Protocol

import anyio
import attrs
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

Tls = Literal["none", "starttls", "implicit"]


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that nothing listens on (just now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@attrs.define
class _Handler:
    """aiosmtpd's handler: checks logins, records envelopes, answers as told."""

    users: dict[str, str]
    messages: list[EmailMessage] = attrs.Factory(list)
    envelopes: list[Envelope] = attrs.Factory(list)
    logins: list[str] = attrs.Factory(list)
    encrypted: list[bool] = attrs.Factory(list)
    refuse_recipients_with: str | None = None
    """An SMTP answer such as ``550 no such user`` for every RCPT TO, or None to accept."""

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = data.login.decode(), data.password.decode()
        if self.users.get(login) != password:
            return AuthResult(success=False, handled=False)
        self.logins.append(f"{mechanism} {login}")
        return AuthResult(success=True)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refuse_recipients_with is not None:
            return self.refuse_recipients_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        parsed = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append(envelope)
        self.encrypted.append(server.transport.get_extra_info("ssl_object") is not None)
        return "250 Message accepted"


@attrs.define
class MailServer:
    """One running SMTP server and what it received."""

    host: str
    port: int
    tls: Tls
    cafile: Path
    handler: _Handler
    controller: Controller
    running: bool = True

    @property
    def messages(self) -> list[EmailMessage]:
        """The messages received so far, parsed."""
        return self.handler.messages

    @property
    def envelopes(self) -> list[Envelope]:
        """The envelopes received so far (``mail_from``, ``rcpt_tos``, ``smtp_utf8``)."""
        return self.handler.envelopes

    @property
    def encrypted(self) -> list[bool]:
        """Whether each message came over TLS (implicit or after STARTTLS)."""
        return self.handler.encrypted

    @property
    def logins(self) -> list[str]:
        """``"<mechanism> <user>"`` of each successful AUTH."""
        return self.handler.logins

    def url(self, scheme: str, *, user: str | None = None, password: str | None = None) -> str:
        """Return a mail URL for this server, trusting its authority."""
        credentials = f"{user}:{password}@" if user is not None else ""
        return f"{scheme}://{credentials}{self.host}:{self.port}?cafile={self.cafile}&timeout=5"

    def stop(self) -> None:
        """Stop the server (once); its port is closed afterwards."""
        if self.running:
            self.running = False
            self.controller.stop()

    @classmethod
    def start(
        cls,
        ca: trustme.CA,
        cafile: Path,
        *,
        tls: Tls = "starttls",
        users: dict[str, str] | None = None,
        port: int | None = None,
    ) -> MailServer:
        """Start a server on *port* (default: a free one) with *tls*, and AUTH for *users*.

        With users, AUTH (PLAIN and LOGIN) is required before MAIL FROM, and
        offered only after STARTTLS on a ``"starttls"`` server.
        """
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
        handler = _Handler(users=dict(users or {}))
        for attempt in range(3):  # another process may take the free port before we bind it
            chosen = port or free_port()
            controller = Controller(
                handler,
                hostname="127.0.0.1",
                port=chosen,
                ssl_context=server_context if tls == "implicit" else None,
                tls_context=server_context if tls == "starttls" else None,
                authenticator=handler.authenticate if users else None,
                auth_required=bool(users),
                # Over implicit TLS aiosmtpd sees no STARTTLS and would never offer AUTH.
                auth_require_tls=tls == "starttls",
                ready_timeout=10,
            )
            try:
                controller.start()
                break
            except OSError:
                if attempt == 2:  # the last of three
                    raise
        return cls("127.0.0.1", chosen, tls, cafile, handler, controller)


@pytest.fixture(scope="session")
def mail_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path]:
    """A throwaway certificate authority and its PEM file."""
    ca = trustme.CA()
    cafile = tmp_path_factory.mktemp("mail-ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    return ca, cafile


class StartMailServer(Protocol):
    """What the ``mail_server`` fixture is: start a server (see :meth:`MailServer.start`)."""

    def __call__(
        self, *, tls: Tls = "starttls", users: dict[str, str] | None = None, port: int | None = None
    ) -> MailServer:
        """Start a server with *tls* on *port*, requiring AUTH by *users* if given."""
        ...


@pytest.fixture
async def mail_server(mail_ca: tuple[trustme.CA, Path]) -> AsyncIterator[StartMailServer]:
    """Start SMTP servers on demand (``mail_server(tls=..., users=...)``); all stop after."""
    ca, cafile = mail_ca
    started: list[MailServer] = []

    def start(
        *, tls: Tls = "starttls", users: dict[str, str] | None = None, port: int | None = None
    ) -> MailServer:
        server = MailServer.start(ca, cafile, tls=tls, users=users, port=port)
        started.append(server)
        return server

    yield start
    # A client's TLS connection closes in the background (close_notify); let it finish on
    # the test's loop, or its socket outlives the loop and warns when it is collected.
    await anyio.sleep(0.1)
    for server in started:
        server.stop()
