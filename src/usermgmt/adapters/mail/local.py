"""Mailers that need no mail server: a directory of ``.eml`` files, the log, a list, nothing."""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from datetime import UTC, datetime
from email import policy
from pathlib import Path
from typing import Final

import anyio.to_thread
import attrs

from usermgmt.adapters.mail.mime import needs_smtputf8, to_mime
from usermgmt.domain.errors import PermanentMailError, TransientMailError
from usermgmt.domain.mail import Mailbox, MailMessage

log = logging.getLogger("usermgmt.mail")

DISABLED_DETAIL: Final = "mail is disabled (USERMGMT_MAIL_URL=disabled)"


@attrs.frozen(kw_only=True)
class FileMailer:
    """Write each message into *directory* as one ``.eml`` file (RFC 5322, as sent by SMTP).

    A file is written under a temporary name and renamed into place, so a
    reader of the directory never sees half a message. Names sort by the
    time of writing: ``20260101T120000.000000Z-<id>.eml``.
    """

    directory: Path
    sender: Mailbox

    async def send(self, message: MailMessage) -> None:
        """Write *message* to a new file in the directory (created if need be).

        Raises:
            TransientMailError: writing failed (a full disk, a directory that
                may not be written to): an operator can fix it, and the next
                attempt succeeds.
        """
        mime = to_mime(message, self.sender)
        flattened = mime.as_bytes(
            policy=policy.SMTPUTF8 if needs_smtputf8(message, self.sender) else policy.SMTP
        )
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        name = f"{stamp}-{message.message_id or secrets.token_hex(8)}.eml"
        try:
            await anyio.to_thread.run_sync(self._write, name, flattened)
        except OSError as exc:
            raise TransientMailError(f"cannot write to {self.directory}: {exc.strerror}") from exc

    def _write(self, name: str, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=self.directory, prefix=".", suffix=".tmp", delete=False
        ) as file:
            try:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            except BaseException:
                Path(file.name).unlink(missing_ok=True)
                raise
        Path(file.name).replace(self.directory / name)


@attrs.frozen(kw_only=True)
class ConsoleMailer:
    """Write each message to the log (``usermgmt.mail``, level INFO): the development default.

    The text part is written as it is, not MIME-encoded, so that a link in it
    can be copied from the terminal.
    """

    sender: Mailbox

    async def send(self, message: MailMessage) -> None:
        """Log *message*: its headers, then its text."""
        mime = to_mime(message, self.sender)
        lines = [f"{name}: {mime[name]}" for name in ("From", "To", "Subject", "Message-ID")]
        lines.extend(f"{name}: {value}" for name, value in message.headers)
        if message.html is not None:
            lines.append("(with an HTML part, not shown)")
        log.info("mail (%s)\n%s\n\n%s", message.kind, "\n".join(lines), message.text)


@attrs.define
class InMemoryMailer:
    """Keep each message in :attr:`sent`, in order: for tests of code that sends mail."""

    sent: list[MailMessage] = attrs.Factory(list)
    """The messages sent so far, oldest first."""

    async def send(self, message: MailMessage) -> None:
        """Append *message* to :attr:`sent`."""
        self.sent.append(message)


@attrs.frozen
class DisabledMailer:
    """Send nothing, ever (``USERMGMT_MAIL_URL=disabled``)."""

    async def send(self, message: MailMessage) -> None:  # noqa: ARG002 - the port's signature
        """Refuse *message*.

        Raises:
            PermanentMailError: always.
        """
        raise PermanentMailError(DISABLED_DETAIL)
