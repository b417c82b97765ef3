"""Mail adapters, and the one function that picks one from ``USERMGMT_MAIL_URL``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from usermgmt.adapters.mail.local import ConsoleMailer, DisabledMailer, FileMailer, InMemoryMailer
from usermgmt.adapters.mail.smtp import DEFAULT_PORTS, SmtpMailer, SmtpSecurity
from usermgmt.adapters.mail.templates import load_templates
from usermgmt.domain.errors import ConfigurationError
from usermgmt.domain.mail import Mailbox
from usermgmt.ports.mail import Mailer

__all__ = [
    "ConsoleMailer",
    "DisabledMailer",
    "FileMailer",
    "InMemoryMailer",
    "SmtpMailer",
    "SmtpSecurity",
    "load_templates",
    "mailer_from_url",
    "redact",
]

_FORMS: Final = "smtp://, smtp+tls://, smtps://, file:///directory, console: or disabled"
_PASSWORD: Final = re.compile(r"(//[^/?#@:]*):[^/?#@]*@")
_SMTP_OPTIONS: Final = frozenset({"timeout", "cafile"})


def redact(url: str) -> str:
    """Return *url* with the password of its user part, if any, replaced by ``***``."""
    return _PASSWORD.sub(r"\1:***@", url)


def _refuse(url: str, reason: str) -> ConfigurationError:
    return ConfigurationError(f"USERMGMT_MAIL_URL={redact(url)!r} {reason}")


def mailer_from_url(url: str, *, sender: Mailbox) -> Mailer:
    """Return the mailer *url* names, sending from *sender*.

    ``smtp://[user:password@]host[:port]`` (port 25; STARTTLS when offered),
    ``smtp+tls://…`` (port 587; STARTTLS required), ``smtps://…`` (port 465;
    implicit TLS), each with optional ``?timeout=seconds`` and
    ``&cafile=/path/ca.pem``; ``file:///directory``; ``console:``; ``disabled``.
    Percent-escape a ``@``, ``:`` or ``/`` in the user or password.

    Raises:
        ConfigurationError: *url* is not one of these forms; the one line shows
            the URL without its password.
    """
    text = url.strip()
    if text == "console:":
        return ConsoleMailer(sender=sender)
    if text == "disabled":
        return DisabledMailer()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise _refuse(text, f"is not a URL ({exc}); use {_FORMS}") from None
    if parts.scheme == "file":
        if parts.netloc not in {"", "localhost"} or parts.query or parts.fragment:
            raise _refuse(text, "must be file:///absolute/directory, with no host or query")
        if not parts.path.startswith("/"):
            raise _refuse(text, "must name an absolute directory: file:///var/mail/usermgmt")
        return FileMailer(directory=Path(unquote(parts.path)), sender=sender)
    try:
        security = SmtpSecurity(parts.scheme)
    except ValueError:
        raise _refuse(text, f"has an unknown scheme; use {_FORMS}") from None
    return _smtp_mailer(text, parts, port, security, sender)


def _smtp_mailer(
    text: str, parts: SplitResult, port: int | None, security: SmtpSecurity, sender: Mailbox
) -> SmtpMailer:
    if not parts.hostname:
        raise _refuse(text, "names no host: smtp://host:port")
    if parts.path not in {"", "/"} or parts.fragment:
        raise _refuse(text, "must have no path: smtp://host:port?timeout=10")
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - _SMTP_OPTIONS)
    if unknown:
        raise _refuse(text, f"has an unknown option {unknown[0]!r}; known: timeout, cafile")
    try:
        timeout = float(options.get("timeout", "10"))
    except ValueError:
        timeout = 0.0
    if not 0 < timeout < float("inf"):
        raise _refuse(text, "has a timeout that is not a positive number of seconds")
    if parts.password is not None and not parts.username:
        raise _refuse(text, "has a password without a user")
    return SmtpMailer(
        host=parts.hostname,
        port=port or DEFAULT_PORTS[security],
        security=security,
        sender=sender,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        timeout=timeout,
        cafile=Path(options["cafile"]) if options.get("cafile") else None,
    )
