"""The steps that more than one use case takes, each written once.

Starting a session (login today; second-factor verification and passkey
login next), changing a password and ending the other sessions (a password
change today; a reset next), changing a user under the last-active-admin
rule, shutting a user out, and mailing a link that verifies an address.
Every step that changes something records
its event in the caller's unit of work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Final

import attrs

from usermgmt.domain.context import current_request
from usermgmt.domain.credentials import CredentialId, PasswordCredential
from usermgmt.domain.devices import DeviceToken, hash_device_token
from usermgmt.domain.errors import (
    CurrentPasswordRequiredError,
    UserNotFoundError,
    WrongPasswordError,
)
from usermgmt.domain.events import LoggedIn
from usermgmt.domain.mail import Mailbox, MailKind
from usermgmt.domain.model import (
    PASSWORD_AMR,
    AccessClaims,
    Actor,
    Email,
    Principal,
    RefreshToken,
    Session,
    SessionId,
    TokenPair,
    User,
    UserId,
    hash_refresh_token,
)
from usermgmt.domain.onetime import IssueQuota, OneTimeToken, Purpose
from usermgmt.domain.rules.access import require_an_admin_left
from usermgmt.domain.rules.passwords import PasswordPolicy, normalize_password
from usermgmt.domain.rules.sessions import SessionPolicy
from usermgmt.domain.rules.throttle import LoginThrottlePolicy
from usermgmt.domain.templates import describe_duration
from usermgmt.ports import (
    Clock,
    IdGenerator,
    LoginAttemptStore,
    PasswordHasher,
    Repositories,
    TokenCodec,
    UnitOfWork,
)
from usermgmt.usecases.mail import QueueMail


def actor_id(actor: Actor | None) -> UserId | None:
    """Return the id of the user behind *actor*: ``None`` for the operator, or nobody."""
    return actor.user.id if isinstance(actor, Principal) else None


@attrs.frozen(kw_only=True)
class TokenIssuer:
    """Mints the token pair for a live session: shared by starting and refreshing one."""

    _codec: TokenCodec
    _ids: IdGenerator
    _policy: SessionPolicy

    def issue(self, user: User, session: Session, now: datetime) -> tuple[TokenPair, RefreshToken]:
        """Return the client's tokens and the stored form of the new refresh token."""
        secret = self._ids.new_secret()
        claims = AccessClaims(
            subject=user.id,
            session_id=session.id,
            token_id=self._ids.new_token_id(),
            role=user.role,
            issued_at=now,
            expires_at=now + self._policy.access_token_ttl,
            amr=session.amr,
        )
        pair = TokenPair(
            access_token=self._codec.encode(claims),
            refresh_token=secret,
            expires_in=int(self._policy.access_token_ttl.total_seconds()),
        )
        stored = RefreshToken(
            token_hash=hash_refresh_token(secret), session_id=session.id, issued_at=now
        )
        return pair, stored


@attrs.frozen(kw_only=True)
class StartSession:
    """Begin a session for a user who has proven who they are.

    Every way of signing in ends here: the session with its first tokens, a
    fresh device token that replaces the one presented, if any, and the
    credentials that proved it marked as used, with the :class:`LoggedIn`
    event, in one transaction.
    """

    _uow: UnitOfWork
    _issuer: TokenIssuer
    _policy: SessionPolicy
    _clock: Clock
    _ids: IdGenerator

    async def __call__(
        self,
        user: User,
        presented: DeviceToken | None = None,
        *,
        credentials: Sequence[CredentialId] = (),
        amr: tuple[str, ...] = PASSWORD_AMR,
    ) -> TokenPair:
        """Start a session of *user*; *presented* is the trusted device token now spent.

        *credentials* are those the user proved themselves with (a password),
        *amr* how (RFC 8176 method names). The session remembers the client
        address and user agent of the request being served.
        """
        now = self._clock.now()
        client = current_request()
        session = Session.start(
            id=self._ids.new_session_id(),
            user_id=user.id,
            now=now,
            lifetime=self._policy.refresh_token_ttl,
            ip=client.ip,
            user_agent=client.user_agent,
            amr=amr,
        )
        tokens, stored = self._issuer.issue(user, session, now)
        secret = self._ids.new_secret()
        device = DeviceToken.issue(
            token_hash=hash_device_token(secret),
            user_id=user.id,
            now=now,
            lifetime=self._policy.refresh_token_ttl,
        )
        async with self._uow() as tx:
            await tx.sessions.add(session, stored)
            await tx.devices.add(device, replacing=presented.token_hash if presented else None)
            for credential_id in credentials:
                await tx.credentials.mark_used(credential_id, now)
            await tx.outbox.add(
                LoggedIn(at=now, context=client, user_id=user.id, session_id=session.id, amr=amr)
            )
        return attrs.evolve(tokens, device_token=secret)


async def prove_current_password(
    uow: UnitOfWork,
    passwords: PasswordChange,
    user: User,
    current_password: str | None,
    *,
    action: str,
) -> None:
    """Check, before a sensitive change, that the caller knows *user*'s current password.

    The stored password is read on its own (the hash is checked outside any
    transaction); a missing *current_password* is refused before any read.

    Raises:
        CurrentPasswordRequiredError: *current_password* is missing.
        WrongPasswordError: it is wrong.
    """
    if current_password is None:
        await passwords.prove(None, None, action=action)  # raises: nothing to read first
    async with uow.standalone() as repos:
        password = await repos.credentials.password(user.id)
    await passwords.prove(password, current_password, action=action)


@attrs.frozen(kw_only=True)
class PasswordChange:
    """Give a user a new password: proven, hashed, throttle cleared, stored, other sessions ended.

    It works around the caller's transaction: :meth:`prove` and :meth:`hash_new`
    before it (hashing is slow), :meth:`store` and :meth:`end_other_sessions`
    inside it.
    """

    _hasher: PasswordHasher
    _policy: PasswordPolicy
    _attempts: LoginAttemptStore
    _ids: IdGenerator

    async def prove(
        self,
        password: PasswordCredential | None,
        current_password: str | None,
        *,
        action: str | None = None,
    ) -> None:
        """Check that whoever asks knows the user's *current_password*; *password* is stored.

        *action* is what the proof allows, as the errors name it (by default,
        changing one's own password).

        Raises:
            CurrentPasswordRequiredError: *current_password* is missing.
            WrongPasswordError: it is wrong (or the user has no password).
        """
        if current_password is None:
            what = action or "change your own password"
            raise CurrentPasswordRequiredError("current_password", f"is required to {what}")
        stored = password.password_hash if password is not None else None
        if not await self._hasher.verify(normalize_password(current_password), stored):
            raise (
                WrongPasswordError(f"{action}: the current password is wrong")
                if action
                else (WrongPasswordError())
            )

    async def hash_new(self, user: User, password: str, email: Email | None = None) -> str:
        """Return the hash of *user*'s new *password*, and clear the account's login throttle.

        *email* is the address the user will have, if it changes too: the
        policy refuses a password equal to it.

        Raises:
            WeakPasswordError: the policy refuses *password*.
        """
        new_hash = await self._hasher.hash(self._policy.accept(password, email or user.email))
        # Before the change, so that a failure here leaves nothing half done.
        await self._attempts.clear_account(LoginThrottlePolicy.account_key(user.email.value))
        return new_hash

    async def store(
        self,
        tx: Repositories,
        user_id: UserId,
        password_hash: str,
        now: datetime,
        *,
        proven: PasswordCredential | None = None,
    ) -> None:
        """Make *password_hash* the password of *user_id* from *now* on.

        The user's one-time tokens (mail links, login challenges) are void from
        then on: a link mailed before the change must not outlive it.

        *proven* is the password as :meth:`prove` checked it: the change is
        refused if the password changed since, as the proof is then stale.

        Raises:
            WrongPasswordError: *proven* is no longer the stored password.
        """
        current = await tx.credentials.password(user_id, for_update=True)
        if proven is not None and (
            current is None or current.password_hash != proven.password_hash
        ):
            raise WrongPasswordError  # changed meanwhile: the proof is stale
        if current is None:
            first = PasswordCredential.set(
                id=self._ids.new_credential_id(),
                user_id=user_id,
                password_hash=password_hash,
                now=now,
            )
            await tx.credentials.add_password(first)
        else:
            await tx.credentials.change_password(current.changed(password_hash, now))
        await tx.one_time_tokens.void(user_id)

    @staticmethod
    async def end_other_sessions(
        tx: Repositories, user_id: UserId, now: datetime, *, keep: SessionId | None = None
    ) -> None:
        """End every session of *user_id* but *keep* (the session that made the change).

        The user's devices stay trusted: an owner who changes the password
        under attack must still get in from their own devices, and a token in
        other hands is throttled like one more client.
        """
        await tx.sessions.revoke_all(user_id, now, keep=keep)


async def change_user(
    tx: Repositories,
    user_id: UserId,
    change: Callable[[User], User],
    *,
    may_remove_admin: bool,
) -> tuple[User, User]:
    """Lock live user *user_id*, apply *change* under the last-active-admin rule, store it.

    Every change of a user that may take away an admin (a new role, a
    deactivation, a deletion) goes through here, so the rule is kept in one
    place. With *may_remove_admin*, the active admins' rows are counted and
    locked first, before the target's, in every transaction: no two
    transactions deadlock, and two changes cannot both remove "the other" last
    admin. Without, nothing is counted, and a change that would remove an
    admin is refused.

    Returns the user as it was and as it is now.

    Raises:
        UserNotFoundError: no such live user.
        LastAdminError: the change would leave no active admin.
        Whatever *change* raises, before anything is written.
    """
    admins = await tx.users.count_active_admins(lock=True) if may_remove_admin else 0
    before = await tx.users.get(user_id, for_update=True)
    if before is None:
        raise UserNotFoundError(str(user_id))
    after = change(before)
    require_an_admin_left(before, after, admins)
    await tx.users.update(after)
    return before, after


async def shut_out(tx: Repositories, user_id: UserId, now: datetime) -> None:
    """End every session of *user_id*, forget its devices, void its one-time tokens.

    Deactivation and deletion shut a user out so.
    """
    await tx.sessions.revoke_all(user_id, now)
    await tx.devices.revoke_all(user_id)
    await tx.one_time_tokens.void(user_id)


VERIFY_PAGE: Final = "verify-email"
"""The page of the service (and of the links in mail) where an address is confirmed."""


@attrs.frozen(kw_only=True)
class MailVerification:
    """Issue a verification token for a user's address and queue its mail, in the caller's unit.

    Registration and a resend share it. The token carries the address it was
    mailed to, so that it verifies nothing once the address has changed. A
    newer token voids the one before; with *quota*, nothing is issued or sent
    beyond it.
    """

    _queue_mail: QueueMail
    _lifetime: timedelta

    async def __call__(
        self, tx: Repositories, user: User, now: datetime, *, quota: IssueQuota | None = None
    ) -> bool:
        """Queue the mail to *user*'s address in *tx*; return False if the quota held it back."""
        token, stored = OneTimeToken.issue(
            user_id=user.id,
            purpose=Purpose.VERIFY_EMAIL,
            now=now,
            lifetime=self._lifetime,
            data={"email": user.email.value},
        )
        if not await tx.one_time_tokens.issue(stored, quota=quota):
            return False
        await self._queue_mail(
            tx,
            MailKind.VERIFY_EMAIL,
            Mailbox(user.email.value, user.name),
            link=self._queue_mail.link(VERIFY_PAGE, token),
            valid_for=describe_duration(int(self._lifetime.total_seconds())),
        )
        return True
