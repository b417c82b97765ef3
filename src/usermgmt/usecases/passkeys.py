"""Passkeys: registering one (proven by the current password), listing, removing, signing in.

Each ceremony is two calls: the first stores a challenge and returns the
options for the browser with the ceremony's id; the second spends that
challenge (once, in one statement, whatever comes next) and verifies the
browser's response to it. A registration is bound to the user who began
it; a sign-in names its account by the credential alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from usermgmt.domain.context import current_request
from usermgmt.domain.credentials import CredentialId
from usermgmt.domain.errors import (
    InvalidCredentialsError,
    LoginThrottledError,
    PasskeyNotFoundError,
    PasskeyRejectedError,
    UserNotFoundError,
)
from usermgmt.domain.events import LoginFailed, LoginFailureReason, PasskeyAdded, PasskeyRemoved
from usermgmt.domain.mail import Mailbox, MailKind
from usermgmt.domain.model import Principal, TokenPair, User
from usermgmt.domain.passkeys import (
    HARDWARE_KEY_AMR,
    Ceremony,
    CeremonyId,
    CeremonyKind,
    PasskeyCeremony,
    PasskeyCredential,
    clean_passkey_name,
    counter_accepts,
)
from usermgmt.domain.rules.throttle import LoginAttempt, LoginThrottlePolicy
from usermgmt.ports import Clock, IdGenerator, LoginAttemptStore, UnitOfWork
from usermgmt.ports.passkeys import PasskeyVerifier
from usermgmt.usecases._steps import PasswordChange, StartSession, prove_current_password
from usermgmt.usecases.mail import QueueMail

log = logging.getLogger("usermgmt.passkeys")

_PASSKEY_CHANGE = "add or remove a passkey"
_CEREMONY_GONE = "is unknown, spent or expired; begin again"


@attrs.frozen(kw_only=True)
class BeginPasskeyRegistration:
    """Start registering a passkey for the caller: their current password first."""

    _uow: UnitOfWork
    _passwords: PasswordChange
    _verifier: PasskeyVerifier
    _clock: Clock

    async def __call__(self, actor: Principal, current_password: str | None) -> PasskeyCeremony:
        """Return the ceremony's id and the creation options for the caller's browser.

        The options ask for a discoverable credential with user verification
        and exclude the caller's passkeys; the ceremony lives 5 minutes.

        Raises:
            CurrentPasswordRequiredError: *current_password* is missing.
            WrongPasswordError: it is wrong.
        """
        user = actor.user
        await prove_current_password(
            self._uow, self._passwords, user, current_password, action=_PASSKEY_CHANGE
        )
        ceremony = Ceremony.begin(
            kind=CeremonyKind.REGISTRATION, user_id=user.id, now=self._clock.now()
        )
        async with self._uow.standalone() as repos:
            existing = await repos.credentials.passkeys(user.id)
            await repos.ceremonies.add(ceremony)
        options = self._verifier.registration_options(
            user=user, challenge=ceremony.challenge, exclude=existing
        )
        return PasskeyCeremony(ceremony_id=ceremony.id, options=options)


@attrs.frozen(kw_only=True)
class FinishPasskeyRegistration:
    """Verify the browser's answer to a registration and keep the new passkey."""

    _uow: UnitOfWork
    _verifier: PasskeyVerifier
    _queue_mail: QueueMail
    _clock: Clock
    _ids: IdGenerator

    async def __call__(
        self,
        actor: Principal,
        ceremony_id: CeremonyId,
        credential: Mapping[str, Any],
        name: str | None = None,
    ) -> PasskeyCredential:
        """Spend the ceremony, verify *credential* (``RegistrationResponseJSON``), store it.

        *name* is what the user calls it (``Passkey`` when not given). A notice
        goes to the account's address, with the event, in the same transaction.

        Raises:
            PasskeyRejectedError: the ceremony is unknown, spent, expired or
                another user's (``ceremony_id``); the response does not verify or
                the passkey is registered already (``credential``).
            ValidationError: *name* is too long or holds control characters.
        """
        label = clean_passkey_name(name)
        user = actor.user
        now = self._clock.now()
        async with self._uow.standalone() as repos:
            ceremony = await repos.ceremonies.spend(ceremony_id, CeremonyKind.REGISTRATION, now)
        if ceremony is None or ceremony.user_id != user.id:
            raise PasskeyRejectedError("ceremony_id", _CEREMONY_GONE)
        new = self._verifier.verify_registration(credential, challenge=ceremony.challenge)
        passkey = PasskeyCredential(
            id=self._ids.new_credential_id(),
            user_id=user.id,
            credential_id=new.credential_id,
            public_key=new.public_key,
            sign_count=new.sign_count,
            name=label,
            transports=new.transports,
            backed_up=new.backed_up,
            aaguid=new.aaguid,
            created_at=now,
            updated_at=now,
        )
        async with self._uow() as tx:
            if await tx.users.get(user.id) is None:
                raise UserNotFoundError(str(user.id))
            if not await tx.credentials.add_passkey(passkey):
                raise PasskeyRejectedError("credential", "is a passkey registered already")
            await tx.outbox.add(
                PasskeyAdded(
                    at=now,
                    context=current_request(),
                    user_id=user.id,
                    passkey_id=passkey.id,
                    name=label,
                )
            )
            await self._queue_mail(
                tx,
                MailKind.PASSKEY_ADDED,
                Mailbox(user.email.value, user.name),
                passkey_name=label,
            )
        return passkey


@attrs.frozen(kw_only=True)
class ListPasskeys:
    """The caller's passkeys, oldest first."""

    _uow: UnitOfWork

    async def __call__(self, actor: Principal) -> tuple[PasskeyCredential, ...]:
        """Return the caller's passkeys (their public keys too, which are no secret)."""
        async with self._uow.standalone() as repos:
            return tuple(await repos.credentials.passkeys(actor.user.id))


@attrs.frozen(kw_only=True)
class RemovePasskey:
    """Remove one of the caller's passkeys: their current password first."""

    _uow: UnitOfWork
    _passwords: PasswordChange
    _clock: Clock

    async def __call__(
        self, actor: Principal, passkey_id: CredentialId, current_password: str | None
    ) -> None:
        """Forget the caller's passkey *passkey_id*; it signs nobody in from now on.

        Raises:
            CurrentPasswordRequiredError: *current_password* is missing.
            WrongPasswordError: it is wrong.
            PasskeyNotFoundError: the caller has no passkey with that id.
        """
        user = actor.user
        await prove_current_password(
            self._uow, self._passwords, user, current_password, action=_PASSKEY_CHANGE
        )
        now = self._clock.now()
        async with self._uow() as tx:
            if not await tx.credentials.remove_passkey(user.id, passkey_id):
                raise PasskeyNotFoundError(str(passkey_id))
            await tx.outbox.add(
                PasskeyRemoved(
                    at=now,
                    context=current_request(),
                    user_id=user.id,
                    actor_id=user.id,
                    passkey_id=passkey_id,
                )
            )


@attrs.frozen(kw_only=True)
class BeginPasskeyLogin:
    """Start a passkey sign-in: no email asked, so nothing to enumerate."""

    _uow: UnitOfWork
    _verifier: PasskeyVerifier
    _clock: Clock

    async def __call__(self) -> PasskeyCeremony:
        """Return the ceremony's id and request options without ``allowCredentials``."""
        ceremony = Ceremony.begin(
            kind=CeremonyKind.AUTHENTICATION, user_id=None, now=self._clock.now()
        )
        async with self._uow.standalone() as repos:
            await repos.ceremonies.add(ceremony)
        options = self._verifier.authentication_options(challenge=ceremony.challenge)
        return PasskeyCeremony(ceremony_id=ceremony.id, options=options)


class _Refused(Exception):  # noqa: N818 - an internal signal, not an error of the API
    """A passkey sign-in that fails, with the reason recorded (never shown)."""

    def __init__(self, reason: LoginFailureReason, user: User | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.user = user


@attrs.frozen(kw_only=True)
class PasskeyLogin:
    """Exchange a passkey's answer to a sign-in ceremony for a new session (``amr`` ``hwk``).

    A passkey with user verification is itself multi-factor: no second factor
    is asked. Every failure (unknown, spent or expired ceremony, unknown or
    removed passkey, a response that does not verify, a counter that did not
    grow, a deleted or deactivated user) ends in the same
    :class:`InvalidCredentialsError`, and records :class:`LoginFailed` with
    its reason. The login throttle counts failures per client from the start,
    and on the account too once the passkey names one.
    """

    _uow: UnitOfWork
    _verifier: PasskeyVerifier
    _attempts: LoginAttemptStore
    _throttle: LoginThrottlePolicy
    _start_session: StartSession
    _clock: Clock

    async def __call__(
        self, ceremony_id: CeremonyId, credential: Mapping[str, Any], *, client: str = ""
    ) -> TokenPair:
        """Sign in from *client* (an IP address) with *credential* (``AuthenticationResponseJSON``).

        Raises:
            InvalidCredentialsError: the answer does not sign anyone in.
            LoginThrottledError: too many recent failures from this client or on
                this account.
        """
        now = self._clock.now()
        reserved = [await self._reserve(self._throttle.passkey_attempt(client), None, now)]
        try:
            user, passkey = await self._verify(ceremony_id, credential, client, reserved, now)
        except _Refused as refused:
            await self._refused(refused.reason, refused.user, now)
            raise InvalidCredentialsError from None  # the reservations stand: the failure
        except LoginThrottledError:
            for attempt in reserved:
                await self._attempts.release(attempt, now)  # never checked: not a guess
            raise
        except BaseException:
            for attempt in reserved:
                await self._attempts.release(attempt, now)
            raise
        for attempt in reserved:
            await self._attempts.clear(attempt)
        return await self._start_session(user, credentials=(passkey.id,), amr=HARDWARE_KEY_AMR)

    async def _verify(
        self,
        ceremony_id: CeremonyId,
        credential: Mapping[str, Any],
        client: str,
        reserved: list[LoginAttempt],
        now: datetime,
    ) -> tuple[User, PasskeyCredential]:
        credential_id = self._verifier.credential_id(credential)
        async with self._uow.standalone() as repos:
            ceremony = await repos.ceremonies.spend(ceremony_id, CeremonyKind.AUTHENTICATION, now)
            found = None
            if ceremony is not None and credential_id is not None:
                found = await repos.credentials.passkey_for_login(credential_id)
        if ceremony is None:
            raise _Refused(LoginFailureReason.CEREMONY_INVALID)
        if found is None:
            raise _Refused(LoginFailureReason.UNKNOWN_PASSKEY)
        user, passkey = found
        account = self._throttle.attempt(user.email.key, client)
        reserved.append(await self._reserve(account, user, now))
        try:
            asserted = self._verifier.verify_authentication(
                credential, challenge=ceremony.challenge, user=user, passkey=passkey
            )
        except PasskeyRejectedError:
            raise _Refused(LoginFailureReason.PASSKEY_INVALID, user) from None
        if not counter_accepts(passkey.sign_count, asserted.sign_count):
            log.warning(
                "passkey %s of user %s refused: its signature counter went from %d to %d "
                "(a cloned authenticator?)",
                passkey.id,
                user.id,
                passkey.sign_count,
                asserted.sign_count,
            )
            raise _Refused(LoginFailureReason.PASSKEY_COUNTER, user)
        if not user.can_sign_in:
            raise _Refused(LoginFailureReason.INACTIVE, user)
        async with self._uow.standalone() as repos:
            moved = await repos.credentials.update_passkey_counter(
                passkey.id,
                expected=passkey.sign_count,
                sign_count=asserted.sign_count,
                backed_up=asserted.backed_up,
                now=now,
            )
        if not moved:  # another sign-in with this passkey got there first
            log.warning("passkey %s of user %s: its counter moved meanwhile", passkey.id, user.id)
            raise _Refused(LoginFailureReason.PASSKEY_COUNTER, user)
        return user, passkey

    async def _reserve(
        self, attempt: LoginAttempt, user: User | None, now: datetime
    ) -> LoginAttempt:
        reservation = await self._attempts.reserve(attempt, now)
        if not reservation.admitted:
            await self._refused(LoginFailureReason.THROTTLED, user, now)
            raise LoginThrottledError(self._throttle.retry_after(attempt, reservation.records, now))
        return attempt

    async def _refused(self, reason: LoginFailureReason, user: User | None, now: datetime) -> None:
        """Record the failed attempt on its own: a failure changes nothing it could join."""
        failed = LoginFailed(
            at=now, context=current_request(), reason=reason, user_id=user.id if user else None
        )
        async with self._uow.standalone() as repos:
            await repos.outbox.add(failed)
