"""Use cases of managing accounts: register, read, find, update, delete, restore."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import attrs

from usermgmt.domain.errors import (
    PermissionDeniedError,
    UserNotDeletedError,
    UserNotFoundError,
    WrongPasswordError,
)
from usermgmt.domain.model import (
    Actor,
    Email,
    Principal,
    Role,
    User,
    UserId,
    clean_name,
)
from usermgmt.domain.rules.access import (
    is_privileged,
    is_self,
    require_admin,
    require_self_or_admin,
)
from usermgmt.domain.rules.passwords import PasswordPolicy
from usermgmt.ports import (
    Clock,
    IdGenerator,
    PasswordHasher,
    Repositories,
    UnitOfWork,
)
from usermgmt.usecases._steps import PasswordChange, change_user, shut_out


@attrs.frozen(kw_only=True)
class RegisterUser:
    """Register a user; the database settles races on the email."""

    _uow: UnitOfWork
    _hasher: PasswordHasher
    _policy: PasswordPolicy
    _clock: Clock
    _ids: IdGenerator

    async def __call__(
        self,
        email: str,
        password: str,
        name: str = "",
        *,
        role: Role = Role.USER,
        actor: Actor | None = None,
    ) -> User:
        """Create an active user; only a privileged *actor* may create an admin.

        Raises:
            InvalidEmailError, WeakPasswordError, ValueTooLongError: input refused.
            PermissionDeniedError: an admin was asked for without the right to make one.
            EmailTakenError: a live user already has this email.
        """
        if role is Role.ADMIN and (actor is None or not is_privileged(actor)):
            raise PermissionDeniedError("create an administrator")
        address = Email.parse(email)
        clean_name(name)  # refuse a bad name before the slow hash, not after
        password_hash = await self._hasher.hash(self._policy.accept(password, address))
        user = User.register(
            id=self._ids.new_user_id(),
            email=address,
            name=name,
            password_hash=password_hash,
            now=self._clock.now(),
            role=role,
        )
        async with self._uow.standalone() as repos:  # one INSERT: no transaction needed
            await repos.users.add(user)
        return user


@attrs.frozen(kw_only=True)
class GetUser:
    """Read one live user: one's own account, or anyone's for an admin."""

    _uow: UnitOfWork

    async def __call__(
        self, user_id: UserId, *, actor: Actor, include_deleted: bool = False
    ) -> User:
        """Return the user *user_id* as *actor* may see it.

        Raises:
            PermissionDeniedError: a plain user asked for someone else (whether
                or not that id exists, so ids cannot be probed).
            UserNotFoundError: no such user, or deleted.
        """
        require_self_or_admin(actor, user_id, "read another user")
        async with self._uow.standalone() as repos:
            user = await repos.users.get(
                user_id, include_deleted=include_deleted and is_privileged(actor)
            )
        if user is None:
            raise UserNotFoundError(str(user_id))
        return user


@attrs.frozen(kw_only=True)
class FindUser:
    """Find a user by id or by email, for operators who name users either way."""

    _uow: UnitOfWork

    async def __call__(
        self, reference: str, *, actor: Actor, include_deleted: bool = False
    ) -> User:
        """Return the user that *reference* (a UUID or an email) names.

        An email names the live user with it, or, with *include_deleted* and no
        live user, the one deleted most recently.

        Raises:
            PermissionDeniedError: *actor* is not privileged.
            UserNotFoundError: nobody matches.
            InvalidEmailError: *reference* is neither a UUID nor an email.
        """
        require_admin(actor, "look users up")
        try:
            user_id: UserId | None = UserId(UUID(reference))
        except ValueError:
            user_id = None
        async with self._uow.standalone() as repos:
            if user_id is not None:
                user = await repos.users.get(user_id, include_deleted=include_deleted)
            else:
                user = await repos.users.get_by_email(
                    Email.parse(reference), include_deleted=include_deleted
                )
        if user is None:
            raise UserNotFoundError(reference)
        return user


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
    the devices.
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
        async with self._uow.standalone() as repos:
            before = await repos.users.get(user_id)
        if before is None:
            raise UserNotFoundError(str(user_id))
        proven = is_self(actor, user_id) and changes.password is not None
        if proven:
            await self._passwords.prove(before, changes.current_password)
        new_hash = None
        if changes.password is not None:  # hashed before the transaction: it is slow
            new_hash = await self._passwords.hash_new(before, changes.password, email)
        now = self._clock.now()

        def change(current: User) -> User:
            if proven and current.password_hash != before.password_hash:
                raise WrongPasswordError  # changed meanwhile: the proof is stale
            return current.changed(
                now=now,
                name=changes.name,
                email=email,
                role=changes.role,
                is_active=changes.is_active,
                password_hash=new_hash,
            )

        async with self._uow() as tx:
            current, updated = await change_user(
                tx, user_id, change, may_remove_admin=touches_access
            )
            await self._end_sessions(tx, current, updated, actor, proven=proven, now=now)
        return updated

    @staticmethod
    async def _end_sessions(
        tx: Repositories,
        before: User,
        after: User,
        actor: Actor,
        *,
        proven: bool,
        now: datetime,
    ) -> None:
        """Deactivation shuts the user out; a new password ends every session but the changer's."""
        if before.is_active and not after.is_active:
            await shut_out(tx, after.id, now)
        elif before.password_hash != after.password_hash:
            keep = actor.session_id if proven and isinstance(actor, Principal) else None
            await PasswordChange.end_other_sessions(tx, after.id, now, keep=keep)


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


@attrs.frozen(kw_only=True)
class DeleteUser:
    """Soft-delete a user: sign-in refused, sessions ended, devices forgotten, email free."""

    _uow: UnitOfWork
    _clock: Clock

    async def __call__(self, user_id: UserId, *, actor: Actor) -> None:
        """Delete user *user_id* on behalf of *actor*.

        Raises:
            PermissionDeniedError: a plain user named somebody else.
            UserNotFoundError: no such live user.
            LastAdminError: the user is the last active admin.
        """
        require_self_or_admin(actor, user_id, "delete another user")
        now = self._clock.now()
        async with self._uow() as tx:
            await change_user(tx, user_id, lambda user: user.deleted(now), may_remove_admin=True)
            await shut_out(tx, user_id, now)


@attrs.frozen(kw_only=True)
class RestoreUser:
    """Undo a soft delete; the user's old sessions stay ended (admins only)."""

    _uow: UnitOfWork
    _clock: Clock

    async def __call__(self, user_id: UserId, *, actor: Actor) -> User:
        """Restore user *user_id*.

        Raises:
            PermissionDeniedError: *actor* is not privileged.
            UserNotFoundError: no user has this id.
            UserNotDeletedError: the user is not deleted.
            EmailTakenError: a live user has taken the email meanwhile.
        """
        require_admin(actor, "restore users")
        now = self._clock.now()
        async with self._uow() as tx:
            user = await tx.users.get(user_id, include_deleted=True, for_update=True)
            if user is None:
                raise UserNotFoundError(str(user_id))
            if not user.is_deleted:
                raise UserNotDeletedError(str(user_id))
            restored = user.restored(now)
            await tx.users.update(restored)
        return restored
