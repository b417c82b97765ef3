"""Use cases that change a live account: its profile, password, role or active state."""

from __future__ import annotations

from datetime import datetime

import attrs

from usermgmt.domain.context import current_request
from usermgmt.domain.errors import PermissionDeniedError, UserNotFoundError
from usermgmt.domain.events import Event, PasswordChanged, UserUpdated
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
from usermgmt.domain.rules.access import is_privileged, is_self, require_self_or_admin
from usermgmt.ports import Clock, Repositories, UnitOfWork
from usermgmt.usecases._steps import PasswordChange, actor_id, change_user, shut_out


@attrs.frozen(kw_only=True)
class UserChanges:
    """A partial update: ``None`` leaves a field as it is."""

    name: str | None = None
    email: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    current_password: str | None = attrs.field(default=None, repr=False)
    role: Role | None = None
    is_active: bool | None = None


@attrs.frozen(kw_only=True)
class UpdateUser:
    """Change a user's profile, credentials, role or active state under the rules.

    A user may change their own name, email and password (the latter proven by
    the current password); only admins change roles and active state; the last
    active admin cannot be demoted or deactivated. A new password ends every
    other session of the user and clears the account's login throttle (the
    user's devices stay trusted); deactivation ends all sessions and forgets
    the devices. The change records :class:`UserUpdated` for the fields that
    changed and :class:`PasswordChanged` for a new password.
    """

    _uow: UnitOfWork
    _passwords: PasswordChange
    _clock: Clock

    async def __call__(
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
    ) -> User:
        """Change the fields of user *user_id* that are not ``None``, on behalf of *actor*.

        Returns the updated user.

        Raises:
            PermissionDeniedError: not one's own account, or a plain user touching
                role or active state.
            CurrentPasswordRequiredError: a self-service password change without it.
            WrongPasswordError: the current password given is wrong.
            UserNotFoundError: no such live user.
            EmailTakenError: the new email belongs to another live user.
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
        )
        return await self._apply(user_id, changes, actor=actor)

    async def _apply(self, user_id: UserId, changes: UserChanges, *, actor: Actor) -> User:
        require_self_or_admin(actor, user_id, "update another user")
        touches_access = changes.role is not None or changes.is_active is not None
        if touches_access and not is_privileged(actor):
            raise PermissionDeniedError("change a role or active state")
        email = Email.parse(changes.email) if changes.email is not None else None
        if changes.name is not None:
            clean_name(changes.name)  # refuse a bad name before the slow hash, not after
        proven = is_self(actor, user_id) and changes.password is not None
        async with self._uow.standalone() as repos:
            before = await repos.users.get(user_id)
            password = await repos.credentials.password(user_id) if proven else None
        if before is None:
            raise UserNotFoundError(str(user_id))
        if proven:
            await self._passwords.prove(password, changes.current_password)
        new_hash = None
        if changes.password is not None:  # hashed before the transaction: it is slow
            new_hash = await self._passwords.hash_new(before, changes.password, email)
        now = self._clock.now()

        def change(current: User) -> User:
            return current.changed(
                now=now,
                name=changes.name,
                email=email,
                role=changes.role,
                is_active=changes.is_active,
            )

        keep = actor.session_id if proven and isinstance(actor, Principal) else None
        async with self._uow() as tx:
            current, updated = await change_user(
                tx, user_id, change, may_remove_admin=touches_access
            )
            new_password = new_hash is not None
            if new_hash is not None:
                await self._passwords.store(tx, user_id, new_hash, now, proven=password)
            await self._end_sessions(
                tx, current, updated, keep=keep, new_password=new_password, now=now
            )
            for event in _events(
                current, updated, actor, keep=keep, new_password=new_password, now=now
            ):
                await tx.outbox.add(event)
        return updated

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
