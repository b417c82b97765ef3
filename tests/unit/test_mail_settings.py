"""The mail settings, and the mailer and templates the service builds from them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.mail_delivery_contract import queued
from usermgmt import ConfigurationError, Environment, Settings, UserManagement
from usermgmt.domain.context import request_context
from usermgmt.domain.events import RequestContext
from usermgmt.domain.mail import Mailbox, MailKind
from usermgmt.testing import InMemoryMailer, memory_service

pytestmark = pytest.mark.anyio


def test_the_mail_defaults_are_the_contracts() -> None:
    """Links to 127.0.0.1:8000, from no-reply@localhost, 10 attempts, the log in development."""
    settings = Settings.from_env({})

    assert (settings.app_url, settings.mail_from, settings.mail_max_attempts) == (
        "http://127.0.0.1:8000",
        "usermgmt <no-reply@localhost>",
        10,
    )
    assert (settings.mail_url, settings.effective_mail_url, settings.mail_templates) == (
        None,
        "console:",
        None,
    )


def test_the_mail_variables_are_read() -> None:
    """Each mail variable reaches its setting; the app URL loses a trailing slash."""
    settings = Settings.from_env(
        {
            "USERMGMT_APP_URL": "https://id.example.org/accounts/",
            "USERMGMT_MAIL_URL": "smtps://u:p@smtp.example.org",
            "USERMGMT_MAIL_FROM": "Example <id@example.org>",
            "USERMGMT_MAIL_MAX_ATTEMPTS": "4",
            "USERMGMT_MAIL_TEMPLATES": "/etc/usermgmt/mail",
        }
    )

    assert settings.app_url == "https://id.example.org/accounts"
    assert settings.mail_url == "smtps://u:p@smtp.example.org"
    assert settings.mail_from == "Example <id@example.org>"
    assert settings.mail_max_attempts == 4
    assert settings.mail_templates == Path("/etc/usermgmt/mail")
    assert "smtps://u:p@" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("USERMGMT_APP_URL", "id.example.org"),
        ("USERMGMT_APP_URL", "ftp://id.example.org"),
        ("USERMGMT_APP_URL", "https://id.example.org/?next=x"),
        ("USERMGMT_MAIL_FROM", "two@example.org, addresses@example.org"),
        ("USERMGMT_MAIL_FROM", "nobody"),
        ("USERMGMT_MAIL_MAX_ATTEMPTS", "0"),
    ],
)
def test_malformed_mail_values_are_refused_with_their_name(name: str, value: str) -> None:
    """A wrong value names its variable in one line."""
    with pytest.raises(ConfigurationError, match=name) as caught:
        Settings.from_env({name: value})

    assert "\n" not in str(caught.value)


def test_production_without_a_mail_url_refuses_to_prepare_mail(settings: Settings) -> None:
    """The service says in one line what to set."""
    service = UserManagement.in_memory(settings.evolve(env=Environment.PRODUCTION))

    with pytest.raises(ConfigurationError, match="production mode needs USERMGMT_MAIL_URL") as e:
        service.prepare_mail()

    assert "\n" not in str(e.value)


@pytest.mark.parametrize("url", ["disabled", "console:", "file:///var/mail/usermgmt"])
def test_production_takes_any_mail_url_it_is_given(settings: Settings, url: str) -> None:
    """``disabled`` (or the log, or a directory) is an operator's explicit choice."""
    UserManagement.in_memory(
        settings.evolve(env=Environment.PRODUCTION, mail_url=url)
    ).prepare_mail()


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"mail_url": "smtp://u:s3cr3t@mail.example.org/x"}, "USERMGMT_MAIL_URL="),
        ({"mail_from": "a@example.org, b@example.org"}, "USERMGMT_MAIL_FROM="),
        ({"mail_templates": Path("/nonexistent/templates")}, "USERMGMT_MAIL_TEMPLATES="),
    ],
)
def test_a_bad_mail_setting_stops_preparation_in_one_line(
    settings: Settings, changes: dict[str, object], says: str
) -> None:
    """A wrong URL, sender or template directory is found before the first message."""
    service = UserManagement.in_memory(settings.evolve(**changes))

    with pytest.raises(ConfigurationError, match=says) as e:
        service.prepare_mail()

    assert "s3cr3t" not in str(e.value)
    assert "\n" not in str(e.value)


async def test_without_a_mail_url_development_mail_goes_to_the_log(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """With no configuration, a queued message is written to the log, link and all."""
    caplog.set_level(logging.INFO, logger="usermgmt.mail")
    async with memory_service(settings) as service:
        async with service._parts.uow() as tx:
            await tx.outbox.add(queued())

        await service.dispatch_events()

    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "usermgmt.mail")
    assert "To: Ann Example <ann@example.org>" in logged
    assert "http://127.0.0.1:8000/verify-email#token=abc" in logged


async def test_a_memory_mailer_given_to_the_service_receives_its_mail(settings: Settings) -> None:
    """Library users' tests read what their service sent from an InMemoryMailer."""
    mailer = InMemoryMailer()
    async with memory_service(settings, mailer=mailer) as service:
        async with service._parts.uow() as tx:
            await tx.outbox.add(queued())

        await service.dispatch_events()

    assert [sent.subject for sent in mailer.sent] == ["Confirm your email address"]


async def test_a_flow_queues_a_rendered_message_that_the_dispatcher_sends(
    settings: Settings,
) -> None:
    """QueueMail renders the template in the flow's transaction, with the request's context."""
    mailer = InMemoryMailer()
    async with memory_service(
        settings.evolve(app_url="https://id.example.org"), mailer=mailer
    ) as um:
        queue = um.use_cases.queue_mail
        link = queue.link("verify-email", "t0k3n")
        with request_context(RequestContext(ip="192.0.2.9", request_id="r-9")):
            async with um._parts.uow() as tx:
                queued_event = await queue(
                    tx,
                    MailKind.VERIFY_EMAIL,
                    Mailbox("ann@example.org", "Ann"),
                    link=link,
                    valid_for="24 hours",
                )

        await um.dispatch_events()

    assert link == "https://id.example.org/verify-email#token=t0k3n"
    assert queued_event.context.request_id == "r-9"
    [sent] = mailer.sent
    assert sent.subject == "Confirm your email address"
    assert link in sent.text
    assert sent.html is not None
    assert f'href="{link}"' in sent.html


async def test_mail_queued_by_a_flow_that_fails_is_never_sent(settings: Settings) -> None:
    """The message is part of the flow's transaction: a failure after queueing takes it back."""
    mailer = InMemoryMailer()
    async with memory_service(settings, mailer=mailer) as um:

        async def flow() -> None:
            async with um._parts.uow() as tx:
                await um.use_cases.queue_mail(
                    tx, MailKind.PASSWORD_CHANGED, Mailbox("ann@example.org")
                )
                raise RuntimeError

        with pytest.raises(RuntimeError):
            await flow()
        await um.dispatch_events()

    assert mailer.sent == []
