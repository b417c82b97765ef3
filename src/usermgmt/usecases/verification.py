"""Proving an address: spend a mailed link, or ask for a new one.

A link mailed at registration (or by a resend) verifies the address it was
sent to; a link mailed for a change of one's own address moves the account
onto that address, verified. Both are spent at one place,
:class:`VerifyEmail`. Asking for a new link answers the same for every
address, as asking for a reset does: the request only records
:class:`VerificationRequested`, and :class:`SendVerification` decides, when
the running service delivers it, whether a live account with that address
still waits to be verified, within the mail quota.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from usermgmt.domain.context import current_request
from usermgmt.domain.errors import InvalidEmailError, InvalidOneTimeTokenError, MailDisabledError
from usermgmt.domain.events import Delivery, EmailVerified, VerificationRequested
from usermgmt.domain.model import Actor, Email, Principal, User
from usermgmt.domain.onetime import MAIL_QUOTA, OneTimeToken, Purpose, hash_one_time_token
from usermgmt.ports import Clock, Repositories, UnitOfWork
from usermgmt.usecases._steps import MailVerification

EMAIL_LINK_PURPOSES = (Purpose.VERIFY_EMAIL, Purpose.CHANGE_EMAIL)
"""The tokens ``/api/auth/verify-email`` spends: a verification, or an email change."""


@attrs.frozen(kw_only=True)
class VerifyEmail:
    """Spend a mailed link's token: the address is verified, or the account moves to the new one."""

    _uow: UnitOfWork
    _clock: Clock

    async def __call__(self, token: str) -> User:
        """Spend *token* and return the user as it is now.

        A verification token verifies the address it was mailed to; an
        email-change token makes its new address the user's, verified.

        Raises:
            InvalidOneTimeTokenError: the token is unknown, spent, expired,
                voided or for another use (one error for all); its account may
                no longer sign in; or the address it verifies is no longer the
                account's.
            EmailTakenError: an email change's new address was taken by a live
                user meanwhile; the token stays unspent.
        """
        digest = hash_one_time_token(token)
        now = self._clock.now()
        async with self._uow() as tx:
            spent = await _spend(tx, digest, now)
            user = await tx.users.get(spent.user_id, for_update=True) if spent else None
            if spent is None or user is None or not user.can_sign_in:
                raise InvalidOneTimeTokenError  # the transaction rolls back: nothing spent
            address = Email(spent.data.get("email", ""))
            if spent.purpose is Purpose.CHANGE_EMAIL:
                updated = user.email_change_confirmed(address, now)
            elif address == user.email:
                updated = user.verified(now)
            else:
                raise InvalidOneTimeTokenError  # mailed to an address the user no longer has
            await tx.users.update(updated)  # a taken new address: EmailTakenError, rolled back
            await tx.outbox.add(
                EmailVerified(
                    at=now,
                    context=current_request(),
                    user_id=user.id,
                    email_changed=spent.purpose is Purpose.CHANGE_EMAIL,
                )
            )
        return updated


async def _spend(tx: Repositories, digest: bytes, now: datetime) -> OneTimeToken | None:
    """Spend the token under *digest* if it is a verification or an email change's."""
    for purpose in EMAIL_LINK_PURPOSES:
        spent = await tx.one_time_tokens.spend(digest, purpose, now)
        if spent is not None:
            return spent
    return None


@attrs.frozen(kw_only=True)
class RequestVerification:
    """Ask for a new verification link: the same answer, and work, for every address."""

    _uow: UnitOfWork
    _clock: Clock
    _mail_enabled: bool

    async def __call__(self, email: str | None = None, *, actor: Actor | None = None) -> None:
        """Record the request for *email*, or for the signed-in *actor*'s own address.

        The mail, if the address belongs to a live account that is not
        verified yet, goes out later, at most once a minute and five times an
        hour per account.

        Raises:
            MailDisabledError: the service sends no mail.
            InvalidEmailError: *email* is not an address at all, or neither an
                address nor a signed-in user was given.
        """
        if not self._mail_enabled:
            raise MailDisabledError
        if email is not None:
            address = Email.parse(email)
        elif isinstance(actor, Principal):
            address = actor.user.email
        else:
            raise InvalidEmailError("email", "is required without a bearer token")
        event = VerificationRequested(
            at=self._clock.now(), context=current_request(), email=address.value
        )
        async with self._uow() as tx:
            await tx.outbox.add(event)


@attrs.frozen(kw_only=True)
class SendVerification:
    """Mail a verification link to a live, unverified account with a requested address.

    Subscribed to :class:`VerificationRequested`. An unknown, deleted,
    deactivated or verified address, or one beyond the quota, gets nothing.
    """

    _uow: UnitOfWork
    _clock: Clock
    _verification: MailVerification

    async def __call__(self, delivery: Delivery[VerificationRequested]) -> None:
        """Issue the token and queue the mail, in one transaction, or do nothing."""
        try:
            address = Email.parse(delivery.event.email)
        except InvalidEmailError:
            return  # not queued by this version
        now = self._clock.now()
        async with self._uow() as tx:
            user = await tx.users.get_by_email(address)
            if user is None or not user.can_sign_in or user.email_verified:
                return
            await self._verification(tx, user, now, quota=MAIL_QUOTA)
