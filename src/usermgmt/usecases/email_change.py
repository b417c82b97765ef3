"""A change of one's own address, held until the new address confirms it.

The request (a self-service update of ``email``, proven by the current
password) issues an email-change token carrying the new address and queues
two messages in the update's transaction: the link to the new address, and a
notice to the old one. When the new address already belongs to another
account, that address gets a short "someone tried to use your address"
notice instead of the link; everything else (the token, the notice to the
old address, the answer) is the same, so the route tells nobody who has an
account. The link is spent at ``/api/auth/verify-email``
(:class:`~usermgmt.usecases.verification.VerifyEmail`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from usermgmt.domain.mail import Mailbox, MailKind
from usermgmt.domain.model import Email, User
from usermgmt.domain.onetime import OneTimeToken, Purpose
from usermgmt.domain.templates import describe_duration
from usermgmt.ports import Repositories
from usermgmt.usecases._steps import VERIFY_PAGE
from usermgmt.usecases.mail import QueueMail


@attrs.frozen(kw_only=True)
class EmailChangeMail:
    """Issue an email change's token and queue its mail, in the caller's unit of work.

    *mail_enabled* is false when the service sends no mail: a change that
    waits for a link cannot be asked for then.
    """

    _queue_mail: QueueMail
    _lifetime: timedelta
    mail_enabled: bool = True

    async def __call__(self, tx: Repositories, user: User, new: Email, now: datetime) -> None:
        """Ask *user* to confirm *new*; a newer request voids the token of an earlier one.

        No mail quota applies: each request is proven by the current password,
        and the newest must always win.
        """
        token, stored = OneTimeToken.issue(
            user_id=user.id,
            purpose=Purpose.CHANGE_EMAIL,
            now=now,
            lifetime=self._lifetime,
            data={"email": new.value},
        )
        await tx.one_time_tokens.issue(stored)
        holder = await tx.users.get_by_email(new)
        if holder is None or holder.id == user.id:
            await self._queue_mail(
                tx,
                MailKind.CONFIRM_EMAIL_CHANGE,
                Mailbox(new.value, user.name),
                link=self._queue_mail.link(VERIFY_PAGE, token),
                valid_for=describe_duration(int(self._lifetime.total_seconds())),
                old_email=user.email.value,
            )
        else:  # the token is never sent, and would be refused with 409 if it were
            await self._queue_mail(tx, MailKind.EMAIL_IN_USE, Mailbox(new.value, holder.name))
        await self._queue_mail(
            tx,
            MailKind.EMAIL_CHANGE_REQUESTED,
            Mailbox(user.email.value, user.name),
            new_email=new.value,
        )
