"""Password recovery: ask for a reset link by email, then set a new password with it.

Asking answers the same for every address, in the same time: the request
only records :class:`PasswordResetRequested` (one insert, whoever owns the
address), and the decision to mail is taken when the running service
delivers that event: :class:`SendPasswordReset` finds a live, active
account with that address, issues a reset token within the mail quota (one
a minute, five an hour) and queues the mail in the same transaction. A
reset spends the token, sets the password, marks the address verified,
ends every session of the user,
issues no tokens and queues a "your password was changed" notice.
"""

from __future__ import annotations

from datetime import timedelta

import attrs

from usermgmt.domain.context import current_request
from usermgmt.domain.errors import InvalidEmailError, InvalidOneTimeTokenError, MailDisabledError
from usermgmt.domain.events import Delivery, PasswordReset, PasswordResetRequested
from usermgmt.domain.mail import Mailbox, MailKind
from usermgmt.domain.model import Email
from usermgmt.domain.onetime import MAIL_QUOTA, OneTimeToken, Purpose, hash_one_time_token
from usermgmt.domain.templates import describe_duration
from usermgmt.ports import Clock, UnitOfWork
from usermgmt.usecases._steps import PasswordChange, change_user
from usermgmt.usecases.mail import QueueMail

RESET_PAGE = "reset-password"
"""The page of the service (and of the link in the mail) where a new password is chosen."""


@attrs.frozen(kw_only=True)
class RequestPasswordReset:
    """Ask for a reset link for an address: the same answer, and work, for every address."""

    _uow: UnitOfWork
    _clock: Clock
    _mail_enabled: bool

    async def __call__(self, email: str) -> None:
        """Record the request; the mail, if the address has a live account, goes out later.

        Raises:
            MailDisabledError: the service sends no mail.
            InvalidEmailError: *email* is not an address at all (which says
                nothing of any account).
        """
        if not self._mail_enabled:
            raise MailDisabledError
        address = Email.parse(email)
        event = PasswordResetRequested(
            at=self._clock.now(), context=current_request(), email=address.value
        )
        async with self._uow() as tx:
            await tx.outbox.add(event)


@attrs.frozen(kw_only=True)
class SendPasswordReset:
    """Mail a reset link to the live, active account of a requested address, within the quota.

    Subscribed to :class:`PasswordResetRequested`. A request for an address
    with no such account, or beyond the quota, sends nothing; a repeated
    delivery of one request is held back by the quota too.
    """

    _uow: UnitOfWork
    _clock: Clock
    _queue_mail: QueueMail
    _lifetime: timedelta

    async def __call__(self, delivery: Delivery[PasswordResetRequested]) -> None:
        """Issue the token and queue the mail, in one transaction, or do nothing."""
        requested = delivery.event
        try:
            address = Email.parse(requested.email)
        except InvalidEmailError:
            return  # not queued by this version
        now = self._clock.now()
        async with self._uow() as tx:
            user = await tx.users.get_by_email(address)
            if user is None or not user.can_sign_in:
                return
            token, stored = OneTimeToken.issue(
                user_id=user.id, purpose=Purpose.RESET_PASSWORD, now=now, lifetime=self._lifetime
            )
            if not await tx.one_time_tokens.issue(stored, quota=MAIL_QUOTA):
                return
            await self._queue_mail(
                tx,
                MailKind.RESET_PASSWORD,
                Mailbox(user.email.value, user.name),
                link=self._queue_mail.link(RESET_PAGE, token),
                valid_for=describe_duration(int(self._lifetime.total_seconds())),
            )


@attrs.frozen(kw_only=True)
class ResetPassword:
    """Set a new password with a reset link's token: every session ends, none begins."""

    _uow: UnitOfWork
    _passwords: PasswordChange
    _clock: Clock
    _queue_mail: QueueMail

    async def __call__(self, token: str, password: str) -> None:
        """Spend *token* and make *password* the user's password.

        Every session of the user ends and no token is issued: the user signs
        in again. The address counts as verified (the link reached it), the
        user's other one-time tokens are void, the account's login throttle is
        cleared, and a notice goes to the account's address.

        Raises:
            InvalidOneTimeTokenError: the token is unknown, spent, expired or
                voided (one error for all), or its account may no longer sign in.
            WeakPasswordError: the policy refuses *password*; the token stays usable.
        """
        digest = hash_one_time_token(token)
        async with self._uow.standalone() as repos:
            found = await repos.one_time_tokens.find(
                digest, Purpose.RESET_PASSWORD, self._clock.now()
            )
            user = await repos.users.get(found.user_id) if found is not None else None
        if found is None or user is None or not user.can_sign_in:
            raise InvalidOneTimeTokenError
        new_hash = await self._passwords.hash_new(user, password)  # slow: before the transaction
        now = self._clock.now()
        async with self._uow() as tx:
            if await tx.one_time_tokens.spend(digest, Purpose.RESET_PASSWORD, now) is None:
                raise InvalidOneTimeTokenError  # spent by a parallel reset meanwhile
            await self._passwords.store(tx, user.id, new_hash, now)
            await change_user(tx, user.id, lambda u: u.verified(now), may_remove_admin=False)
            await PasswordChange.end_other_sessions(tx, user.id, now)
            await tx.outbox.add(PasswordReset(at=now, context=current_request(), user_id=user.id))
            await self._queue_mail(
                tx, MailKind.PASSWORD_CHANGED, Mailbox(user.email.value, user.name)
            )
