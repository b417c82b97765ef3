"""USERMGMT_MAIL_URL: each form picks its mailer; a bad one is one line that hides the password."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mail_contract import SENDER
from usermgmt import ConfigurationError
from usermgmt.adapters.mail import (
    ConsoleMailer,
    DisabledMailer,
    FileMailer,
    SmtpMailer,
    SmtpSecurity,
    mailer_from_url,
    redact,
)


@pytest.mark.parametrize(
    ("url", "host", "port", "security"),
    [
        ("smtp://mail.example.org", "mail.example.org", 25, SmtpSecurity.OPPORTUNISTIC),
        ("smtp://mail.example.org:2525", "mail.example.org", 2525, SmtpSecurity.OPPORTUNISTIC),
        ("smtp+tls://mail.example.org", "mail.example.org", 587, SmtpSecurity.STARTTLS),
        ("smtps://mail.example.org", "mail.example.org", 465, SmtpSecurity.TLS),
        ("smtps://[2001:db8::25]:4650/", "2001:db8::25", 4650, SmtpSecurity.TLS),
    ],
)
def test_smtp_urls_name_host_port_and_protection(
    url: str, host: str, port: int, security: SmtpSecurity
) -> None:
    """Each scheme has its default port and its kind of TLS."""
    mailer = mailer_from_url(url, sender=SENDER)

    assert isinstance(mailer, SmtpMailer)
    assert (mailer.host, mailer.port, mailer.security) == (host, port, security)
    assert (mailer.username, mailer.password, mailer.timeout) == (None, None, 10.0)


def test_user_password_and_options_are_read_from_the_url() -> None:
    """The user and password are percent-decoded; timeout and cafile are options."""
    mailer = mailer_from_url(
        "smtp+tls://ann%40example.org:p%40ss%3Aw%2Frd@mail.example.org?timeout=2.5&cafile=/etc/ca.pem",
        sender=SENDER,
    )

    assert isinstance(mailer, SmtpMailer)
    assert (mailer.username, mailer.password) == ("ann@example.org", "p@ss:w/rd")
    assert (mailer.timeout, mailer.cafile) == (2.5, Path("/etc/ca.pem"))
    assert "p@ss" not in repr(mailer)


@pytest.mark.parametrize(
    ("url", "kind"),
    [("console:", ConsoleMailer), (" console: ", ConsoleMailer), ("disabled", DisabledMailer)],
)
def test_console_and_disabled_are_words(url: str, kind: type) -> None:
    """``console:`` logs each message; ``disabled`` sends none."""
    assert isinstance(mailer_from_url(url, sender=SENDER), kind)


@pytest.mark.parametrize(
    ("url", "directory"),
    [
        ("file:///var/mail/usermgmt", Path("/var/mail/usermgmt")),
        ("file://localhost/tmp/out%20box", Path("/tmp/out box")),  # noqa: S108 - only a name
    ],
)
def test_a_file_url_names_an_absolute_directory(url: str, directory: Path) -> None:
    """``file:///dir`` writes .eml files into that directory."""
    mailer = mailer_from_url(url, sender=SENDER)

    assert isinstance(mailer, FileMailer)
    assert mailer.directory == directory


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://mail.example.org", "unknown scheme"),
        ("mail.example.org", "unknown scheme"),
        ("console", "unknown scheme"),
        ("smtp://", "names no host"),
        ("smtp://u:s3cr3t@mail.example.org:99999", "is not a URL"),
        ("smtp://u:s3cr3t@mail.example.org:port", "is not a URL"),
        ("smtp://u:s3cr3t@mail.example.org/inbox", "must have no path"),
        ("smtp://u:s3cr3t@mail.example.org?tls=1", "unknown option 'tls'"),
        ("smtp://u:s3cr3t@mail.example.org?timeout=soon", "timeout that is not a positive"),
        ("smtp://u:s3cr3t@mail.example.org?timeout=0", "timeout that is not a positive"),
        ("smtp://u:s3cr3t@mail.example.org?timeout=inf", "timeout that is not a positive"),
        ("smtp://:s3cr3t@mail.example.org", "password without a user"),
        ("file://relative/dir", "no host or query"),
        ("file:relative", "absolute directory"),
        ("file:///tmp/x?mode=1", "no host or query"),
    ],
)
def test_a_bad_url_is_one_line_without_its_password(url: str, says: str) -> None:
    """Each mistake is named in one line that shows the URL but never its password."""
    with pytest.raises(ConfigurationError, match=says) as caught:
        mailer_from_url(url, sender=SENDER)

    message = str(caught.value)
    assert message.startswith("USERMGMT_MAIL_URL=")
    assert "\n" not in message
    assert "s3cr3t" not in message


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("smtp://u:pw@h:25", "smtp://u:***@h:25"),
        ("smtps://u%40x:p%3Aw@h", "smtps://u%40x:***@h"),
        ("smtp://u@h", "smtp://u@h"),
        ("smtp://h", "smtp://h"),
    ],
)
def test_redact_hides_only_the_password(url: str, shown: str) -> None:
    """The user and host stay visible, for the operator to recognise the URL."""
    assert redact(url) == shown
