"""Use cases of an account's life: register, read, find, delete, restore.

Changing a live account (profile, password, role, active state) is in
:mod:`usermgmt.usecases.updates`.
"""

from __future__ import annotations

from uuid import UUID

import attrs

from usermgmt.domain.context import current_request
from usermgmt.domain.credentials import PasswordCredential
from usermgmt.domain.errors import (
    PermissionDeniedError,
    UserNotDeletedError,
    UserNotFoundError,
)
from usermgmt.domain.events import UserDeleted, UserRegistered, UserRestored
from usermgmt.domain.model import (
    Actor,
    Email,
    Role,
    User,
    UserId,
    clean_name,
)
from usermgmt.domain.rules.access import (
    is_privileged,
    require_admin,
    require_self_or_admin,
)
from usermgmt.domain.rules.passwords import PasswordPolicy
from usermgmt.ports import (
    Clock,
    IdGenerator,
    PasswordHasher,
    UnitOfWork,
)
from usermgmt.usecases._steps import MailVerification, actor_id, change_user, shut_out


@attrs.frozen(kw_only=True)
class RegisterUser:
    """Register a user; the database settles races on the email.

    With *verification* (unless ``USERMGMT_EMAIL_VERIFICATION`` is ``off`` or
    mail is disabled), a verification link is mailed to the new address in
    the transaction that creates the user.
    """

    _uow: UnitOfWork
    _hasher: PasswordHasher
    _policy: PasswordPolicy
    _clock: Clock
    _ids: IdGenerator
    _verification: MailVerification | None = None

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
        now = self._clock.now()
        user = User.register(
            id=self._ids.new_user_id(), email=address, name=name, now=now, role=role
        )
        credential = PasswordCredential.set(
            id=self._ids.new_credential_id(), user_id=user.id, password_hash=password_hash, now=now
        )
        registered = UserRegistered(
            at=user.created_at,
            context=current_request(),
            user_id=user.id,
            role=user.role,
            actor_id=actor_id(actor),
        )
        async with self._uow() as tx:  # the user, its password, its event and mail commit together
            await tx.users.add(user)
            await tx.credentials.add_password(credential)
            await tx.outbox.add(registered)
            if self._verification is not None:
                await self._verification(tx, user, now)
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
            await tx.outbox.add(
                UserDeleted(
                    at=now, context=current_request(), user_id=user_id, actor_id=actor_id(actor)
                )
            )


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
            await tx.outbox.add(
                UserRestored(
                    at=now, context=current_request(), user_id=user_id, actor_id=actor_id(actor)
                )
            )
        return restored
