"""Use cases that change a live account: its profile, password, role or active state."""

from __future__ import annotations

from datetime import datetime

import attrs

from usermgmt.domain.context import current_request
from usermgmt.domain.credentials import PasswordCredential
from usermgmt.domain.errors import MailDisabledError, PermissionDeniedError, UserNotFoundError
from usermgmt.domain.events import EmailChangeRequested, Event, PasswordChanged, UserUpdated
from usermgmt.domain.model import (
    Actor,
    Email,
    Principal,
    Role,
    SessionId,
    User,
    UserId,
    clean_name,
)
from usermgmt.domain.onetime import Purpose
from usermgmt.domain.rules.access import is_privileged, is_self, require_self_or_admin
from usermgmt.ports import Clock, Repositories, UnitOfWork
from usermgmt.usecases._steps import PasswordChange, actor_id, change_user, shut_out
from usermgmt.usecases.email_change import EmailChangeMail

EMAIL_LINK_PURPOSES = (Purpose.VERIFY_EMAIL, Purpose.CHANGE_EMAIL)
"""The links a change of address voids: they were mailed for the old one."""


@attrs.frozen(kw_only=True)
class UserChanges:
    """A partial update: ``None`` leaves a field as it is."""

    name: str | None = None
    email: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    current_password: str | None = attrs.field(default=None, repr=False)
    role: Role | None = None
    is_active: bool | None = None
    email_verified: bool | None = None


@attrs.frozen(kw_only=True)
class UpdateUser:
    """Change a user's profile, credentials, role or active state under the rules.

    A user may change their own name, email and password (the latter two
    proven by the current password); only admins change roles, active state
    and whether an address counts as verified; the last active admin cannot
    be demoted or deactivated. With *email_change* (verification is not
    ``off``), a new address of one's own waits as ``pending_email`` until
    its mailed link is spent; otherwise, and always for an admin's change of
    another user, it applies at once, unverified. A new password ends every
    other session of the user and clears the account's login throttle (the
    user's devices stay trusted); deactivation ends all sessions and forgets
    the devices. The change records :class:`UserUpdated` for the fields that
    changed and :class:`PasswordChanged` for a new password.
    """

    _uow: UnitOfWork
    _passwords: PasswordChange
    _clock: Clock
    _email_change: EmailChangeMail | None = None

    async def __call__(  # noqa: PLR0913 - one keyword per field; the facades derive from it
        self,
        user_id: UserId,
        *,
        actor: Actor,
        name: str | None = None,
        email: str | None = None,
        password: str | None = None,
        current_password: str | None = None,
        role: Role | None = None,
        is_active: bool | None = None,
        email_verified: bool | None = None,
    ) -> User:
        """Change the fields of user *user_id* that are not ``None``, on behalf of *actor*.

        Returns the updated user.

        Raises:
            PermissionDeniedError: not one's own account, or a plain user touching
                role, active state or verification.
            CurrentPasswordRequiredError: a self-service change of password or
                email without it.
            MailDisabledError: a self-service change of email that waits for a
                link, on a service that sends no mail.
            WrongPasswordError: the current password given is wrong.
            UserNotFoundError: no such live user.
            EmailTakenError: the new email belongs to another live user (when it
                applies at once; a change that waits answers alike either way).
            LastAdminError: the change would leave no active admin.
            InvalidEmailError, WeakPasswordError, ValueTooLongError: input refused.
        """
        changes = UserChanges(
            name=name,
            email=email,
            password=password,
            current_password=current_password,
            role=role,
            is_active=is_active,
            email_verified=email_verified,
        )
        return await self._apply(user_id, changes, actor=actor)

    async def _apply(self, user_id: UserId, changes: UserChanges, *, actor: Actor) -> User:
        touches_access = _check_access(user_id, changes, actor)
        email = Email.parse(changes.email) if changes.email is not None else None
        if changes.name is not None:
            clean_name(changes.name)  # refuse a bad name before the slow hash, not after
        own = is_self(actor, user_id)
        proven = own and changes.password is not None
        async with self._uow.standalone() as repos:
            before = await repos.users.get(user_id)
            password = await repos.credentials.password(user_id) if own else None
        if before is None:
            raise UserNotFoundError(str(user_id))
        moves = own and email is not None and email != before.email
        change_mail = self._email_change if moves else None  # the change waits for its link
        if change_mail is not None and not change_mail.mail_enabled:
            raise MailDisabledError
        pending = change_mail is not None
        await self._prove(password, changes.current_password, password_changes=proven, moves=moves)
        new_hash = None
        if changes.password is not None:  # hashed before the transaction: it is slow
            new_hash = await self._passwords.hash_new(before, changes.password, email)
        now = self._clock.now()

        def change(current: User) -> User:
            return current.changed(
                now=now,
                name=changes.name,
                email=None if pending else email,
                role=changes.role,
                is_active=changes.is_active,
                email_verified=changes.email_verified,
            )

        keep = actor.session_id if proven and isinstance(actor, Principal) else None
        async with self._uow() as tx:
            current, updated = await change_user(
                tx, user_id, change, may_remove_admin=touches_access
            )
            new_password = new_hash is not None
            if new_hash is not None:
                await self._passwords.store(
                    tx, user_id, new_hash, now, proven=password if proven else None
                )
            if current.email != updated.email:  # links for the old address are void
                await tx.one_time_tokens.void(user_id, EMAIL_LINK_PURPOSES)
            if change_mail is not None and email is not None:
                updated = await _request_change(tx, change_mail, updated, email, now)
            await self._end_sessions(
                tx, current, updated, keep=keep, new_password=new_password, now=now
            )
            for event in _events(
                current, updated, actor, keep=keep, new_password=new_password, now=now
            ):
                await tx.outbox.add(event)
        return updated

    async def _prove(
        self,
        password: PasswordCredential | None,
        current_password: str | None,
        *,
        password_changes: bool,
        moves: bool,
    ) -> None:
        """A change of one's own password or address needs the current password."""
        if not (password_changes or moves):
            return
        what = " and ".join(
            name for name, given in (("password", password_changes), ("email", moves)) if given
        )
        await self._passwords.prove(password, current_password, action=f"change your own {what}")

    @staticmethod
    async def _end_sessions(
        tx: Repositories,
        before: User,
        after: User,
        *,
        keep: SessionId | None,
        new_password: bool,
        now: datetime,
    ) -> None:
        """Deactivation shuts the user out; a new password ends every session but *keep*."""
        if before.is_active and not after.is_active:
            await shut_out(tx, after.id, now)
        elif new_password:
            await PasswordChange.end_other_sessions(tx, after.id, now, keep=keep)


def _check_access(user_id: UserId, changes: UserChanges, actor: Actor) -> bool:
    """Refuse what *actor* may not change; return whether the change touches role or activity."""
    require_self_or_admin(actor, user_id, "update another user")
    touches_access = changes.role is not None or changes.is_active is not None
    if touches_access and not is_privileged(actor):
        raise PermissionDeniedError("change a role or active state")
    if changes.email_verified is not None and not is_privileged(actor):
        raise PermissionDeniedError("mark an address verified or not")
    return touches_access


async def _request_change(
    tx: Repositories, mail: EmailChangeMail, user: User, email: Email, now: datetime
) -> User:
    """Hold *email* as *user*'s pending address and mail its link; it replaces an earlier one."""
    await mail(tx, user, email, now)
    waiting = user.email_change_requested(email, now)
    await tx.users.update(waiting)
    await tx.outbox.add(EmailChangeRequested(at=now, context=current_request(), user_id=user.id))
    return waiting


def _events(
    before: User,
    after: User,
    actor: Actor,
    *,
    keep: SessionId | None,
    new_password: bool,
    now: datetime,
) -> list[Event]:
    """Return what changed from *before* to *after*, as the events that record it."""
    changed = tuple(
        field
        for field, old, new in (
            ("name", before.name, after.name),
            ("email", before.email.value, after.email.value),
            ("role", before.role, after.role),
            ("is_active", before.is_active, after.is_active),
            ("email_verified", before.email_verified, after.email_verified),
        )
        if old != new
    )
    context, by = current_request(), actor_id(actor)
    events: list[Event] = []
    if changed:
        events.append(
            UserUpdated(
                at=now,
                context=context,
                user_id=after.id,
                actor_id=by,
                changed=changed,
                role=after.role,
                is_active=after.is_active,
            )
        )
    if new_password:
        kept = keep if after.is_active else None  # a deactivation ended that session too
        events.append(
            PasswordChanged(
                at=now, context=context, user_id=after.id, actor_id=by, kept_session_id=kept
            )
        )
    return events


@attrs.frozen(kw_only=True)
class ChangePassword:
    """Set a user's password: the self-service form of :class:`UpdateUser` for one field."""

    _update: UpdateUser

    async def __call__(
        self,
        user_id: UserId,
        new_password: str,
        *,
        actor: Actor,
        current_password: str | None = None,
    ) -> User:
        """Give user *user_id* *new_password*; other sessions of the user end.

        Raises:
            The errors of :class:`UpdateUser`.
        """
        return await self._update(
            user_id, actor=actor, password=new_password, current_password=current_password
        )
