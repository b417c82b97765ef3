"""The mailers that need no server: a directory of .eml files, the log, a list, nothing."""

from __future__ import annotations

import logging
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.mail_contract import SENDER, Delivery, MailerContract, message, parse
from usermgmt.adapters.mail import ConsoleMailer, DisabledMailer, FileMailer, InMemoryMailer
from usermgmt.adapters.mail.mime import to_mime
from usermgmt.domain.errors import PermanentMailError, TransientMailError

pytestmark = pytest.mark.anyio


def _files(directory: Path) -> list[Path]:
    return sorted(directory.iterdir())


def _read_eml(directory: Path) -> list[EmailMessage]:
    return [parse(path.read_bytes()) for path in sorted(directory.glob("*.eml"))]


class TestFileMailer(MailerContract):
    @pytest.fixture
    def delivery(self, tmp_path: Path) -> Delivery:
        directory = tmp_path / "mail" / "out"  # created by the first message
        return FileMailer(directory=directory, sender=SENDER), lambda: _read_eml(directory)


class TestInMemoryMailer(MailerContract):
    @pytest.fixture
    def delivery(self) -> Delivery:
        mailer = InMemoryMailer()
        return mailer, lambda: [
            parse(to_mime(sent, SENDER).as_bytes(policy=policy.SMTPUTF8)) for sent in mailer.sent
        ]


async def test_the_file_mailer_leaves_only_whole_eml_files(tmp_path: Path) -> None:
    """After three messages the directory holds three .eml files and no temporary one."""
    mailer = FileMailer(directory=tmp_path, sender=SENDER)

    for _ in range(3):
        await mailer.send(message())

    names = [path.name for path in _files(tmp_path)]
    assert len(names) == 3
    assert all(name.endswith(".eml") and not name.startswith(".") for name in names)
    assert names == sorted(names)  # time of writing first: they sort in order


async def test_the_file_mailer_names_a_file_after_the_message_id(tmp_path: Path) -> None:
    """A message with an id is written to a file whose name ends with that id."""
    mailer = FileMailer(directory=tmp_path, sender=SENDER)

    await mailer.send(message(message_id="outbox-7"))

    [path] = _files(tmp_path)
    assert path.name.endswith("-outbox-7.eml")


async def test_the_file_mailer_writes_crlf_lines_as_smtp_would(tmp_path: Path) -> None:
    """The file holds the bytes an SMTP server would receive: CRLF line ends."""
    mailer = FileMailer(directory=tmp_path, sender=SENDER)

    await mailer.send(message())

    [path] = _files(tmp_path)
    data = path.read_bytes()
    assert b"\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")


async def test_a_file_in_the_way_is_a_transient_failure(tmp_path: Path) -> None:
    """A path that cannot be a directory now (a file in the way) may be fixed later."""
    (tmp_path / "out").write_text("not a directory")
    mailer = FileMailer(directory=tmp_path / "out" / "mail", sender=SENDER)

    with pytest.raises(TransientMailError, match="cannot write to"):
        await mailer.send(message())


async def test_the_console_mailer_writes_the_message_to_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The log shows who gets which subject, and the text with its link as it is."""
    caplog.set_level(logging.INFO, logger="usermgmt.mail")
    long_link = "http://127.0.0.1:8000/verify-email#token=" + "x" * 90

    await ConsoleMailer(sender=SENDER).send(message(text=f"open {long_link}\n", html="<p>x</p>"))

    [record] = caplog.records
    assert record.name == "usermgmt.mail"
    assert record.levelno == logging.INFO
    logged = record.getMessage()
    assert "From: usermgmt <no-reply@example.org>" in logged
    assert "To: Ann Example <ann@example.org>" in logged
    assert "Subject: Confirm your email address" in logged
    assert long_link in logged  # not folded or quoted-printable
    assert "HTML part" in logged


async def test_the_memory_mailer_records_each_message_in_order() -> None:
    """Tests of code that sends mail find each message, equal to what was sent."""
    mailer = InMemoryMailer()
    first, second = message(subject="one"), message(subject="two")

    await mailer.send(first)
    await mailer.send(second)

    assert mailer.sent == [first, second]


async def test_the_disabled_mailer_refuses_every_message() -> None:
    """With mail disabled, a message fails for good: retrying would not send it."""
    with pytest.raises(PermanentMailError, match="disabled"):
        await DisabledMailer().send(message())
