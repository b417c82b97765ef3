"""Use cases of managing accounts: register, read, list, update, delete, restore."""

from __future__ import annotations

from datetime import datetime
from typing import Final
from uuid import UUID

import attrs

from usermgmt.domain.errors import (
    CurrentPasswordRequiredError,
    InvalidPageError,
    LastAdminError,
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
    UserPage,
    UserSlice,
    clean_name,
)
from usermgmt.domain.policy import (
    CURSOR_SECRET,
    ListPosition,
    PasswordPolicy,
    decode_cursor,
    encode_cursor,
    is_privileged,
    is_self,
    normalize_password,
    require_admin,
    require_self_or_admin,
)
from usermgmt.domain.throttle import LoginThrottlePolicy
from usermgmt.ports import (
    Clock,
    IdGenerator,
    LoginAttemptStore,
    PasswordHasher,
    Repositories,
    ServiceSecrets,
    UnitOfWork,
)

MAX_PER_PAGE: Final = 100
MAX_PAGE: Final = 10_000_000


@attrs.frozen
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


@attrs.frozen
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


@attrs.frozen
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


def _check_per_page(per_page: int) -> None:
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidPageError("per_page", f"must be between 1 and {MAX_PER_PAGE}")


@attrs.frozen
class ListUsers:
    """List users oldest first, by page number or by an opaque, signed cursor (admins only)."""

    _uow: UnitOfWork
    _secrets: ServiceSecrets

    async def page(
        self, *, actor: Actor, page: int = 1, per_page: int = 20, include_deleted: bool = False
    ) -> UserPage:
        """Return page *page* (from 1) with the total.

        Raises:
            PermissionDeniedError: *actor* is not privileged.
            InvalidPageError: *page* or *per_page* out of range.
        """
        require_admin(actor, "list users")
        _check_per_page(per_page)
        if not 1 <= page <= MAX_PAGE:
            raise InvalidPageError("page", f"must be between 1 and {MAX_PAGE}")
        offset = (page - 1) * per_page
        async with self._uow.standalone() as repos:
            total = await repos.users.count(include_deleted=include_deleted)
            items: tuple[User, ...] = ()
            if offset >= total:
                pass  # past the end there is nothing to fetch
            elif offset <= total // 2:
                items = tuple(
                    await repos.users.page(
                        offset=offset, limit=per_page, include_deleted=include_deleted
                    )
                )
            else:  # nearer the end: skip from the newest side, which is fewer rows to pass
                from_end = total - offset - per_page
                found = await repos.users.page(
                    offset=max(from_end, 0),
                    limit=per_page + min(from_end, 0),
                    include_deleted=include_deleted,
                    newest_first=True,
                )
                items = tuple(reversed(found))
        return UserPage(items=items, page=page, per_page=per_page, total=total)

    async def walk(
        self,
        *,
        actor: Actor,
        cursor: str | None = None,
        per_page: int = 20,
        include_deleted: bool = False,
    ) -> UserSlice:
        """Return the users after *cursor* (``None`` or ``""`` for the first page).

        Keyset pagination: as fast at any depth, and a walk sees each user once
        even while users are added or deleted.

        Raises:
            PermissionDeniedError: *actor* is not privileged.
            InvalidPageError: *per_page* out of range.
            InvalidCursorError: *cursor* is not one this service handed out, or was altered.
        """
        require_admin(actor, "list users")
        _check_per_page(per_page)
        key = await self._secrets.secret(CURSOR_SECRET)
        position = decode_cursor(cursor, key) if cursor else None
        async with self._uow.standalone() as repos:
            found = await repos.users.after(
                position, limit=per_page + 1, include_deleted=include_deleted
            )
        items = tuple(found[:per_page])
        next_cursor = None
        if len(found) > per_page:
            last = items[-1]
            position = ListPosition(created_at=last.created_at, user_id=last.id)
            next_cursor = encode_cursor(position, key)
        return UserSlice(items=items, next_cursor=next_cursor)


@attrs.frozen(kw_only=True)
class UserChanges:
    """A partial update: ``None`` leaves a field as it is."""

    name: str | None = None
    email: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    current_password: str | None = attrs.field(default=None, repr=False)
    role: Role | None = None
    is_active: bool | None = None


@attrs.frozen
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
    _hasher: PasswordHasher
    _policy: PasswordPolicy
    _clock: Clock
    _attempts: LoginAttemptStore

    async def __call__(self, user_id: UserId, changes: UserChanges, *, actor: Actor) -> User:
        """Apply *changes* to user *user_id* on behalf of *actor*; return the updated user.

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
            await self._prove(before, changes.current_password)
        new_hash = None
        if changes.password is not None:  # hashed before the transaction: it is slow
            new_hash = await self._hasher.hash(
                self._policy.accept(changes.password, email or before.email)
            )
            # Before the change, so that a failure here leaves nothing half done.
            await self._attempts.clear_account(LoginThrottlePolicy.account_key(before.email.value))
        now = self._clock.now()
        async with self._uow() as tx:
            # Admin rows are locked before the target's, in every transaction: no deadlock.
            admins = await tx.users.count_active_admins(lock=True) if touches_access else 0
            current = await tx.users.get(user_id, for_update=True)
            if current is None:
                raise UserNotFoundError(str(user_id))
            if proven and current.password_hash != before.password_hash:
                raise WrongPasswordError  # changed meanwhile: the proof is stale
            updated = current.changed(
                now=now,
                name=changes.name,
                email=email,
                role=changes.role,
                is_active=changes.is_active,
                password_hash=new_hash,
            )
            if current.is_active_admin and not updated.is_active_admin and admins <= 1:
                raise LastAdminError
            await tx.users.update(updated)
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
        """Deactivation ends every session; a new password every session but the changer's.

        Deactivation also forgets the user's devices. A new password does not:
        an owner who changes it under attack must still get in from their own
        devices, and a token in other hands is throttled like one more client.
        """
        if before.is_active and not after.is_active:
            await tx.sessions.revoke_all(after.id, now)
            await tx.devices.revoke_all(after.id)
        elif before.password_hash != after.password_hash:
            keep = actor.session_id if proven and isinstance(actor, Principal) else None
            await tx.sessions.revoke_all(after.id, now, keep=keep)

    async def _prove(self, user: User, current_password: str | None) -> None:
        if current_password is None:
            raise CurrentPasswordRequiredError(
                "current_password", "is required to change your own password"
            )
        if not await self._hasher.verify(normalize_password(current_password), user.password_hash):
            raise WrongPasswordError


@attrs.frozen
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
        changes = UserChanges(password=new_password, current_password=current_password)
        return await self._update(user_id, changes, actor=actor)


@attrs.frozen
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
            admins = await tx.users.count_active_admins(lock=True)
            user = await tx.users.get(user_id, for_update=True)
            if user is None:
                raise UserNotFoundError(str(user_id))
            if user.is_active_admin and admins <= 1:
                raise LastAdminError
            await tx.users.update(user.deleted(now))
            await tx.sessions.revoke_all(user_id, now)
            await tx.devices.revoke_all(user_id)


@attrs.frozen
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


@attrs.frozen
class RevokeSessions:
    """End every session of a user: "sign out everywhere"."""

    _uow: UnitOfWork
    _clock: Clock

    async def __call__(self, user_id: UserId, *, actor: Actor) -> int:
        """End all sessions of user *user_id*; return how many were live.

        Raises:
            PermissionDeniedError: a plain user named somebody else.
            UserNotFoundError: no such user.
        """
        require_self_or_admin(actor, user_id, "end another user's sessions")
        async with self._uow() as tx:
            if await tx.users.get(user_id, include_deleted=True) is None:
                raise UserNotFoundError(str(user_id))
            return await tx.sessions.revoke_all(user_id, self._clock.now())
