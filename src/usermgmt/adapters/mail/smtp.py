"""Delivery to an SMTP server, on aiosmtplib: plain, STARTTLS or implicit TLS, with AUTH.

One connection per message: mail is rare (a registration, a reset), and a
fresh connection never finds itself closed by the server's idle timeout.
"""

from __future__ import annotations

import enum
import ssl
from pathlib import Path

import aiosmtplib
import attrs

from usermgmt.adapters.mail.mime import to_mime
from usermgmt.domain.errors import MailDeliveryError, PermanentMailError, TransientMailError
from usermgmt.domain.mail import Mailbox, MailMessage

_FIRST_PERMANENT_CODE = 500


class SmtpSecurity(enum.Enum):
    """How the connection is protected."""

    OPPORTUNISTIC = "smtp"
    """STARTTLS when the server offers it, plain text otherwise (``smtp://``)."""
    STARTTLS = "smtp+tls"
    """STARTTLS or no delivery (``smtp+tls://``)."""
    TLS = "smtps"
    """TLS from the first byte (``smtps://``, usually port 465)."""


DEFAULT_PORTS = {SmtpSecurity.OPPORTUNISTIC: 25, SmtpSecurity.STARTTLS: 587, SmtpSecurity.TLS: 465}
"""The port of each scheme when its URL names none."""


def _verification_failure(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


@attrs.frozen(kw_only=True)
class SmtpMailer:
    """Send each message to the SMTP server at *host*:*port* from *sender*.

    *username* and *password* log in (AUTH, whichever of PLAIN and LOGIN the
    server offers) when given, and only over TLS: a password is never sent
    in clear text. *cafile* adds a certificate authority to trust
    (a private one); the system's authorities are trusted otherwise, and a
    certificate is always checked. *timeout* bounds each step, in seconds.
    """

    host: str
    port: int
    security: SmtpSecurity
    sender: Mailbox
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    timeout: float = 10.0
    cafile: Path | None = None

    def _tls_context(self) -> ssl.SSLContext | None:
        if self.cafile is None:
            return None  # aiosmtplib's default: the system's authorities, checked
        return ssl.create_default_context(cafile=str(self.cafile))

    async def send(self, message: MailMessage) -> None:
        """Deliver *message* through the server (see :class:`~usermgmt.ports.mail.Mailer`).

        Raises:
            TransientMailError: the server is unreachable, slow, closed the
                connection, or answered 4xx.
            PermanentMailError: the server refused the credentials, the
                sender or the recipient (5xx), lacks what the URL requires
                (STARTTLS, AUTH, or TLS before a login), or its certificate
                is not trusted.
        """
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            use_tls=self.security is SmtpSecurity.TLS,
            start_tls=True if self.security is SmtpSecurity.STARTTLS else None,
            tls_context=self._tls_context(),
            timeout=self.timeout,
        )
        try:
            async with client:  # connects, and takes STARTTLS as the URL says
                if self.username is not None:
                    if client.get_transport_info("ssl_object") is None:
                        raise PermanentMailError(  # noqa: TRY301 - raised as it is, below
                            f"SMTP server {self.host}:{self.port} offers no STARTTLS: the "
                            "password would cross the network in clear text (use smtp+tls:// "
                            "or smtps://, or a relay that needs no login)"
                        )
                    await client.login(self.username, self.password or "")
                await client.send_message(to_mime(message, self.sender))
        except PermanentMailError:
            raise
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise self._failure(exc) from exc

    def _failure(self, exc: Exception) -> MailDeliveryError:  # noqa: PLR0911 - one answer per kind
        where = f"SMTP server {self.host}:{self.port}"
        untrusted = _verification_failure(exc)
        if untrusted is not None:
            return PermanentMailError(
                f"{where}: its certificate is not trusted ({untrusted.verify_message})"
            )
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            return PermanentMailError(f"{where} refused the login: {exc.code} {exc.message}")
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
            exc = exc.recipients[0]
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            if exc.code >= _FIRST_PERMANENT_CODE:
                return PermanentMailError(f"{where} refused the message: {exc.code} {exc.message}")
            return TransientMailError(f"{where} deferred the message: {exc.code} {exc.message}")
        if isinstance(exc, TimeoutError):
            return TransientMailError(f"{where} did not answer within {self.timeout:g} s")
        if isinstance(exc, ConnectionError | OSError):
            return TransientMailError(f"{where} cannot be reached: {exc}")
        # Left: what the server lacks (STARTTLS, an AUTH method): fixed by configuration only.
        return PermanentMailError(f"{where}: {exc}")
