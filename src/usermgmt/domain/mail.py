"""Mail as the domain sees it: who gets which message, with what text.

A :class:`MailMessage` is a plain value: what a flow queues and a
:class:`~usermgmt.ports.mail.Mailer` delivers. Building one refuses what could
forge a header (a line break or another control character in a name, an
address, the subject or a header), so no value that came from a user can add
a header or a recipient on its way to SMTP.
"""

from __future__ import annotations

import enum
import re
from email.headerregistry import Address
from email.policy import default as _default_policy
from typing import Final

import attrs

from usermgmt.domain.errors import ValidationError
from usermgmt.domain.model import Email
from usermgmt.domain.text import BIDI_CONTROLS, LINE_SEPARATORS, is_control

SUBJECT_MAX_LENGTH: Final = 200
"""A subject is one line; longer ones are a template's mistake."""

RESERVED_HEADERS: Final = frozenset(
    {
        "bcc",
        "cc",
        "content-transfer-encoding",
        "content-type",
        "date",
        "from",
        "message-id",
        "mime-version",
        "reply-to",
        "sender",
        "subject",
        "to",
    }
)
"""Headers the adapters write themselves: a message cannot set or repeat them."""

_HEADER_NAME: Final = re.compile(r"[!-9;-~]+")  # RFC 5322 ftext: printable ASCII but ':'
_MESSAGE_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class MailKind(enum.StrEnum):
    """Which message this is: each kind has its own template and placeholders."""

    VERIFY_EMAIL = "verify-email"
    """To a new address: the link that proves it is the user's."""
    RESET_PASSWORD = "reset-password"  # noqa: S105 - a template's name, not a password
    """The link that sets a new password."""
    CONFIRM_EMAIL_CHANGE = "confirm-email-change"
    """To the address a user asked to change to: the link that applies the change."""
    EMAIL_CHANGE_REQUESTED = "email-change-requested"
    """A notice to the old address: a change to another address was asked for."""
    EMAIL_IN_USE = "email-in-use"
    """A notice to an address that another account tried to change to."""
    PASSWORD_CHANGED = "password-changed"  # noqa: S105 - a template's name, not a password
    """A notice: the account's password was changed or reset."""
    PASSKEY_ADDED = "passkey-added"
    """A notice: a new passkey can now sign in to the account."""
    RECOVERY_CODE_USED = "recovery-code-used"
    """A notice: a recovery code signed the account in (it is now spent)."""
    RECOVERY_CODES_REGENERATED = "recovery-codes-regenerated"
    """A notice: a new set of recovery codes was made; the old set is void."""


def _refuse_unsafe(field: str, text: str) -> None:
    if any(is_control(c) or c in LINE_SEPARATORS for c in text):
        raise ValidationError(field, "must not contain control characters or line breaks")
    if any(c in BIDI_CONTROLS for c in text):
        raise ValidationError(field, "must not contain bidirectional override characters")


@attrs.frozen
class Mailbox:
    """An address with an optional display name: a sender or a recipient.

    Both parts are checked to be safe in a header; the address needs one
    ``@`` with something on each side (a sender such as
    ``no-reply@localhost`` is fine, so this is not :class:`Email`'s check).
    """

    address: str
    name: str = ""

    def __attrs_post_init__(self) -> None:
        """Refuse a part that could forge a header.

        Raises:
            ValidationError: on ``address`` or ``name``.
        """
        _refuse_unsafe("name", self.name)
        _refuse_unsafe("address", self.address)
        local, at, domain = self.address.rpartition("@")
        if not (at and local and domain) or any(c.isspace() or c in '<>,;"' for c in domain):
            raise ValidationError("address", "must be an address such as name@example.org")
        if any(c.isspace() or c in "<>," for c in local):
            raise ValidationError("address", "must be an address such as name@example.org")

    @classmethod
    def of(cls, email: Email, name: str = "") -> Mailbox:
        """Return the mailbox of a user's validated *email*, shown with *name*."""
        return cls(email.value, name)

    @classmethod
    def parse(cls, raw: str) -> Mailbox:
        """Read ``Name <address>`` or a bare ``address`` (how ``USERMGMT_MAIL_FROM`` is written).

        Raises:
            ValidationError: *raw* is not one mailbox.
        """
        _refuse_unsafe("address", raw)
        header = _default_policy.header_factory("From", raw.strip())
        addresses: tuple[Address, ...] = getattr(header, "addresses", ())
        if header.defects or len(addresses) != 1:
            raise ValidationError("address", "must be one address such as Name <name@example.org>")
        return cls(addresses[0].addr_spec, addresses[0].display_name)


def _header_pairs(value: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple((str(name), str(text)) for name, text in value)


@attrs.frozen(kw_only=True)
class MailMessage:
    """One message to one recipient: plain text, with an optional HTML alternative.

    *kind* names the template it was rendered from (or what it is about);
    *headers* are extra ``(name, value)`` pairs, none of them one the adapters
    write themselves (:data:`RESERVED_HEADERS`). *message_id*, when given,
    becomes the left part of the ``Message-ID`` (the queue gives each message
    one, so a retried delivery carries the same id); otherwise the mailer
    makes a fresh one.

    Raises:
        ValidationError: the subject or a header holds a line break or another
            control character, the subject is empty or too long, a header
            name is not a valid one or is reserved, or *message_id* holds
            more than letters, digits, ``.``, ``-`` and ``_``.
    """

    to: Mailbox
    subject: str
    text: str
    kind: MailKind
    html: str | None = None
    headers: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_header_pairs)
    message_id: str | None = None

    def __attrs_post_init__(self) -> None:
        """Check every header-bound value (see the class's ``Raises``)."""
        _refuse_unsafe("subject", self.subject)
        if not self.subject.strip():
            raise ValidationError("subject", "must not be empty")
        if len(self.subject) > SUBJECT_MAX_LENGTH:
            raise ValidationError("subject", f"must be at most {SUBJECT_MAX_LENGTH} characters")
        for name, value in self.headers:
            if not _HEADER_NAME.fullmatch(name):
                raise ValidationError("headers", f"{name!r} is not a header name")
            if name.lower() in RESERVED_HEADERS:
                raise ValidationError("headers", f"{name} is written by the mailer itself")
            _refuse_unsafe("headers", value)
        if self.message_id is not None and not _MESSAGE_ID.fullmatch(self.message_id):
            raise ValidationError("message_id", "must be letters, digits, '.', '-' and '_'")
