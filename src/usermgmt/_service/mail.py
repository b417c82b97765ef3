"""What a service sends mail with, built from settings: the mailer and the templates.

:class:`LazyMail` builds them on first use, so that commands which send no
mail need no mail URL.
"""

from __future__ import annotations

import attrs

from usermgmt.domain.errors import ConfigurationError, ValidationError
from usermgmt.domain.mail import Mailbox, MailMessage
from usermgmt.domain.templates import MailTemplates
from usermgmt.ports.mail import Mailer
from usermgmt.settings import Settings

_NO_MAIL_URL = (
    "production mode needs USERMGMT_MAIL_URL: smtp://, smtp+tls:// or smtps:// with your "
    "mail server, file:///directory, or disabled (no mail is sent)"
)


@attrs.frozen
class MailParts:
    """What mail is sent with: the mailer ``USERMGMT_MAIL_URL`` names, and the templates."""

    mailer: Mailer
    templates: MailTemplates


def mail_parts(settings: Settings, mailer: Mailer | None = None) -> MailParts:
    """Return the mailer (*mailer*, or the one the settings name) and the loaded templates.

    Raises:
        ConfigurationError: production without a mail URL, a bad URL, sender
            or template; the one line says which.
    """
    # The mail adapters (aiosmtplib, the template engine) load only when mail is prepared.
    from usermgmt.adapters.mail import load_templates, mailer_from_url  # noqa: PLC0415

    if mailer is None:
        if settings.is_production and settings.mail_url is None:
            raise ConfigurationError(_NO_MAIL_URL)
        try:
            sender = Mailbox.parse(settings.mail_from)
        except ValidationError as exc:
            msg = f"USERMGMT_MAIL_FROM={settings.mail_from!r} is not valid: {exc.reason}"
            raise ConfigurationError(msg) from None
        mailer = mailer_from_url(settings.effective_mail_url, sender=sender)
    return MailParts(mailer, load_templates(settings.app_url, settings.mail_templates))


class LazyMail:
    """The mailer and templates, built on first use; itself a :class:`Mailer`.

    Commands that send no mail (migrations, user administration) then need no
    mail URL, even in production; ``serve`` resolves it at start-up, so a bad
    URL or template stops the service before it answers.
    """

    def __init__(self, settings: Settings, mailer: Mailer | None = None) -> None:
        """Remember what to build from (*mailer*: use this one instead of the settings' URL)."""
        self._settings = settings
        self._mailer = mailer
        self._parts: MailParts | None = None
        self._templates: MailTemplates | None = None

    def resolve(self) -> MailParts:
        """Return the mailer and templates, building them now if need be.

        Raises:
            ConfigurationError: see :func:`mail_parts`.
        """
        if self._parts is None:
            self._parts = mail_parts(self._settings, self._mailer)
        return self._parts

    def templates(self) -> MailTemplates:
        """Return the templates alone, loading them now if need be.

        Queueing a message needs no mailer: a command that only queues (an
        operator's registration, a reset link) runs without a mail URL too.

        Raises:
            ConfigurationError: a template is bad (the one line says which).
        """
        if self._parts is not None:
            return self._parts.templates
        if self._templates is None:
            from usermgmt.adapters.mail import load_templates  # noqa: PLC0415 - as mail_parts

            self._templates = load_templates(self._settings.app_url, self._settings.mail_templates)
        return self._templates

    async def send(self, message: MailMessage) -> None:
        """Send *message* through the mailer (see ``Mailer.send``)."""
        await self.resolve().mailer.send(message)
