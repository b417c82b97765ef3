"""Mail templates: each kind of message, its placeholders, and how one is rendered.

A template is the text of a message with ``$placeholders`` (``string.Template``
syntax: ``$link`` or ``${link}``, ``$$`` for a dollar sign). Its first line is
``Subject: …``, then a blank line, then the body; an HTML alternative is a
second template of the same kind. Templates are parsed once, when the service
starts: a placeholder the kind does not know, a stray ``$`` or a missing
``$link`` is refused then, with the file it is in, never at send time.
"""

from __future__ import annotations

import html
import string
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import attrs

from usermgmt.domain.errors import ConfigurationError
from usermgmt.domain.mail import Mailbox, MailKind, MailMessage

COMMON_PLACEHOLDERS: Final = frozenset({"app_url", "email", "name"})
"""In every template: the service's base URL, the recipient's address, and their
name (their address when they gave none)."""

PLACEHOLDERS: Final[Mapping[MailKind, frozenset[str]]] = MappingProxyType(
    {
        MailKind.VERIFY_EMAIL: frozenset({"link", "valid_for"}),
        MailKind.RESET_PASSWORD: frozenset({"link", "valid_for"}),
        MailKind.CONFIRM_EMAIL_CHANGE: frozenset({"link", "valid_for", "old_email"}),
        MailKind.EMAIL_CHANGE_REQUESTED: frozenset({"new_email"}),
        MailKind.EMAIL_IN_USE: frozenset(),
        MailKind.PASSWORD_CHANGED: frozenset(),
        MailKind.PASSKEY_ADDED: frozenset({"passkey_name"}),
        MailKind.RECOVERY_CODE_USED: frozenset({"remaining"}),
        MailKind.RECOVERY_CODES_REGENERATED: frozenset(),
    }
)
"""The placeholders of each kind beyond :data:`COMMON_PLACEHOLDERS`; the caller
of :meth:`MailTemplates.compose` gives exactly these."""

_SUBJECT_PREFIX: Final = "Subject:"


def describe_duration(seconds: int) -> str:
    """Say *seconds* the way a mail does: ``30 minutes``, ``24 hours``, ``7 days``."""
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" + ("" if count == 1 else "s")
    return f"{seconds} second" + ("" if seconds == 1 else "s")


def _template(kind: MailKind, source: str, origin: str) -> string.Template:
    template = string.Template(source)
    if not template.is_valid():
        msg = f"{origin}: a '$' starts no placeholder (write $$ for a dollar sign)"
        raise ConfigurationError(msg)
    known = COMMON_PLACEHOLDERS | PLACEHOLDERS[kind]
    unknown = sorted(set(template.get_identifiers()) - known)
    if unknown:
        names = ", ".join(f"${name}" for name in sorted(known))
        msg = f"{origin}: unknown placeholder ${unknown[0]}; {kind} mail knows {names}"
        raise ConfigurationError(msg)
    return template


@attrs.frozen(kw_only=True)
class MailTemplate:
    """The subject, text and optional HTML of one kind of message."""

    kind: MailKind
    subject: string.Template
    text: string.Template
    html: string.Template | None = None

    @classmethod
    def parse(
        cls, kind: MailKind, text: str, html_source: str | None = None, *, origin: str
    ) -> MailTemplate:
        """Parse the text template *text* (and *html_source*) of *kind*; *origin* names the file.

        Raises:
            ConfigurationError: the first line is not ``Subject: …``, a
                placeholder is unknown to *kind*, a ``$`` is stray, or a kind
                that sends a link does not use ``$link`` in its text.
        """
        first, _, body = text.partition("\n")
        if not first.startswith(_SUBJECT_PREFIX) or not first[len(_SUBJECT_PREFIX) :].strip():
            msg = f"{origin}: the first line must be 'Subject: ...', then a blank line, the body"
            raise ConfigurationError(msg)
        parsed = cls(
            kind=kind,
            subject=_template(kind, first[len(_SUBJECT_PREFIX) :].strip(), origin),
            text=_template(kind, body.removeprefix("\n"), origin),
            html=None if html_source is None else _template(kind, html_source, f"{origin} (HTML)"),
        )
        if "link" in PLACEHOLDERS[kind]:
            for part, where in ((parsed.text, origin), (parsed.html, f"{origin} (HTML)")):
                if part is not None and "link" not in part.get_identifiers():
                    msg = f"{where}: {kind} mail must show $link, or nobody can follow it"
                    raise ConfigurationError(msg)
        return parsed

    def render(self, values: Mapping[str, str]) -> tuple[str, str, str | None]:
        """Return the subject, text and HTML (or ``None``) with *values* in place.

        Values are escaped in the HTML part, and never in the text.
        """
        escaped = {key: html.escape(value) for key, value in values.items()}
        return (
            self.subject.substitute(values),
            self.text.substitute(values),
            None if self.html is None else self.html.substitute(escaped),
        )


@attrs.frozen
class MailTemplates:
    """A template for every kind, and the base URL they link to."""

    app_url: str
    _by_kind: Mapping[MailKind, MailTemplate] = attrs.field(alias="by_kind")

    def __attrs_post_init__(self) -> None:
        """Refuse a set that lacks a kind.

        Raises:
            ConfigurationError: a kind has no template.
        """
        missing = [kind for kind in MailKind if kind not in self._by_kind]
        if missing:
            msg = f"no mail template for {', '.join(missing)}"
            raise ConfigurationError(msg)

    def __getitem__(self, kind: MailKind) -> MailTemplate:
        """Return the template of *kind*."""
        return self._by_kind[kind]

    def link(self, page: str, token: str) -> str:
        """Return ``{app_url}/{page}#token={token}``, the form of every link in mail.

        The token sits in the fragment: a browser never sends it to a server,
        so it reaches no access log and no ``Referer``.
        """
        return f"{self.app_url}/{page}#token={token}"

    def compose(
        self, kind: MailKind, to: Mailbox, *, message_id: str | None = None, **values: str
    ) -> MailMessage:
        """Render the message of *kind* to *to*, with exactly *kind*'s own placeholders in *values*.

        Raises:
            TypeError: *values* lacks one of *kind*'s placeholders or has one more
                (a mistake in the caller, not in a template).
            ValidationError: a value would put a line break into the subject.
        """
        expected = PLACEHOLDERS[kind]
        if set(values) != expected:
            msg = f"{kind} mail takes {sorted(expected)}, not {sorted(values)}"
            raise TypeError(msg)
        every = {"app_url": self.app_url, "email": to.address, "name": to.name or to.address}
        subject, text, html_part = self[kind].render(every | values)
        return MailMessage(
            to=to, subject=subject, text=text, html=html_part, kind=kind, message_id=message_id
        )
