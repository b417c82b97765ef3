"""Verification and email change through the facade, over memory."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from usermgmt import (
    SYSTEM,
    CurrentPasswordRequiredError,
    Email,
    EmailNotVerifiedError,
    InvalidCredentialsError,
    InvalidEmailError,
    InvalidOneTimeTokenError,
    MailDisabledError,
    ManualClock,
    Settings,
    UserManagement,
    VerificationMode,
    WrongPasswordError,
)
from usermgmt.adapters.mail import InMemoryMailer
from usermgmt.domain.mail import MailKind

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery"
TOKEN = re.compile(r"#token=([\w-]+)")


def _links(mailer: InMemoryMailer, kind: MailKind, to: str) -> list[str]:
    return [
        found[1]
        for m in mailer.sent
        if m.kind is kind and m.to.address == to and (found := TOKEN.search(m.text))
    ]


async def test_registration_mails_a_link_and_spending_it_verifies(settings: Settings) -> None:
    """One link per registration; it verifies once; the user reads back verified."""
    mailer = InMemoryMailer()
    async with UserManagement.in_memory(settings, mailer=mailer) as um:
        ann = await um.register_user("ann@example.org", PASSWORD)
        await um.dispatch_events()
        (token,) = _links(mailer, MailKind.VERIFY_EMAIL, "ann@example.org")

        verified = await um.verify_email(token)
        with pytest.raises(InvalidOneTimeTokenError):
            await um.verify_email(token)
        again = await um.get_user(ann.id, actor=SYSTEM)

    assert ann.email_verified is False
    assert verified.email_verified is True
    assert again.email_verified is True


async def test_a_link_expires_after_the_verification_ttl(settings: Settings) -> None:
    """Past ``verification_ttl`` the token is refused like any other."""
    clock = ManualClock()
    mailer = InMemoryMailer()
    short = settings.evolve(verification_ttl=60)
    async with UserManagement.in_memory(short, clock=clock, mailer=mailer) as um:
        await um.register_user("ann@example.org", PASSWORD)
        await um.dispatch_events()
        (token,) = _links(mailer, MailKind.VERIFY_EMAIL, "ann@example.org")
        clock.advance(timedelta(seconds=61))

        with pytest.raises(InvalidOneTimeTokenError):
            await um.verify_email(token)


async def test_required_refuses_only_the_right_password_of_an_unverified_user(
    settings: Settings,
) -> None:
    """Wrong password: InvalidCredentialsError; right: EmailNotVerifiedError; verified: in."""
    mailer = InMemoryMailer()
    required = settings.evolve(email_verification=VerificationMode.REQUIRED)
    async with UserManagement.in_memory(required, mailer=mailer) as um:
        ann = await um.register_user("ann@example.org", PASSWORD)
        with pytest.raises(InvalidCredentialsError):
            await um.authenticate("ann@example.org", "not " + PASSWORD)
        with pytest.raises(EmailNotVerifiedError):
            await um.authenticate("ann@example.org", PASSWORD)
        await um.update_user(ann.id, actor=SYSTEM, email_verified=True)

        assert await um.authenticate("ann@example.org", PASSWORD)


async def test_resend_records_a_request_and_mails_only_an_unverified_account(
    settings: Settings,
) -> None:
    """Past the minute of registration's link, a resend mails once more; verified: nothing."""
    clock = ManualClock()
    mailer = InMemoryMailer()
    async with UserManagement.in_memory(settings, clock=clock, mailer=mailer) as um:
        await um.register_user("ann@example.org", PASSWORD)
        bob = await um.register_user("bob@example.org", PASSWORD)
        await um.update_user(bob.id, actor=SYSTEM, email_verified=True)
        await um.dispatch_events()
        clock.advance(timedelta(minutes=2))

        for email in ("ann@example.org", "bob@example.org", "nobody@example.org"):
            await um.resend_verification(email)
        await um.dispatch_events()
        await um.dispatch_events()
        with pytest.raises(InvalidEmailError):
            await um.resend_verification()

    assert len(_links(mailer, MailKind.VERIFY_EMAIL, "ann@example.org")) == 2
    assert len(_links(mailer, MailKind.VERIFY_EMAIL, "bob@example.org")) == 1  # registration's


async def test_resend_with_mail_disabled_is_refused(settings: Settings) -> None:
    """``mail_url="disabled"``: MailDisabledError, for any address."""
    async with UserManagement.in_memory(settings.evolve(mail_url="disabled")) as um:
        with pytest.raises(MailDisabledError):
            await um.resend_verification("ann@example.org")


async def test_an_email_change_waits_then_applies_verified(settings: Settings) -> None:
    """Proof required; pending until the link; then the new address, verified."""
    mailer = InMemoryMailer()
    async with UserManagement.in_memory(settings, mailer=mailer) as um:
        ann = await um.register_user("ann@example.org", PASSWORD)
        tokens = await um.authenticate("ann@example.org", PASSWORD)
        me = await um.validate_access_token(tokens.access_token)
        with pytest.raises(CurrentPasswordRequiredError):
            await um.update_user(ann.id, actor=me, email="new@example.org")
        with pytest.raises(WrongPasswordError):
            await um.update_user(
                ann.id, actor=me, email="new@example.org", current_password="wrong"
            )

        waiting = await um.update_user(
            ann.id, actor=me, email="new@example.org", current_password=PASSWORD
        )
        await um.dispatch_events()
        (token,) = _links(mailer, MailKind.CONFIRM_EMAIL_CHANGE, "new@example.org")
        moved = await um.verify_email(token)

    assert (waiting.email, waiting.pending_email) == (ann.email, Email.parse("new@example.org"))
    assert (moved.email.value, moved.pending_email, moved.email_verified) == (
        "new@example.org",
        None,
        True,
    )
    notices = [m for m in mailer.sent if m.kind is MailKind.EMAIL_CHANGE_REQUESTED]
    assert [m.to.address for m in notices] == ["ann@example.org"]


async def test_a_change_to_a_taken_address_warns_its_owner_and_mails_no_link(
    settings: Settings,
) -> None:
    """The same answer as for a free address; the owner gets a notice, nobody a link."""
    mailer = InMemoryMailer()
    async with UserManagement.in_memory(settings, mailer=mailer) as um:
        await um.register_user("bob@example.org", PASSWORD)
        ann = await um.register_user("ann@example.org", PASSWORD)
        tokens = await um.authenticate("ann@example.org", PASSWORD)
        me = await um.validate_access_token(tokens.access_token)

        waiting = await um.update_user(
            ann.id, actor=me, email="BOB@example.org", current_password=PASSWORD
        )
        await um.dispatch_events()

    assert waiting.pending_email == Email.parse("bob@example.org")
    kinds = {(m.kind, m.to.address) for m in mailer.sent}
    assert (MailKind.EMAIL_IN_USE, "bob@example.org") in kinds
    assert (MailKind.EMAIL_CHANGE_REQUESTED, "ann@example.org") in kinds
    assert not [m for m in mailer.sent if m.kind is MailKind.CONFIRM_EMAIL_CHANGE]


async def test_a_reset_verifies_the_address(settings: Settings) -> None:
    """The reset link reached the address: the user is verified after the reset."""
    mailer = InMemoryMailer()
    async with UserManagement.in_memory(settings, mailer=mailer) as um:
        ann = await um.register_user("ann@example.org", PASSWORD)
        await um.request_password_reset("ann@example.org")
        await um.dispatch_events()
        await um.dispatch_events()
        (token,) = _links(mailer, MailKind.RESET_PASSWORD, "ann@example.org")

        await um.reset_password(token, "an entirely new passphrase")
        after = await um.get_user(ann.id, actor=SYSTEM)

    assert after.email_verified is True
