"""Signing in: an email and password exchanged for a new session, under the throttle.

One use case whose steps read best together: the look-up of the account and
the device token, the throttle's reservation, the verification, the upgrade
of an outdated hash, and the event of a failure. An account with a second
factor on gets a challenge instead of a session (``mfa_login``); otherwise
the session starts in ``_steps.StartSession``.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from usermgmt.domain.context import current_request
from usermgmt.domain.credentials import PasswordCredential
from usermgmt.domain.devices import DeviceToken, hash_device_token
from usermgmt.domain.errors import (
    EmailNotVerifiedError,
    InvalidCredentialsError,
    LoginThrottledError,
    OverloadedError,
    ValidationError,
    ValueTooLongError,
)
from usermgmt.domain.events import (
    LoginFailed,
    LoginFailureReason,
)
from usermgmt.domain.model import (
    Email,
    TokenPair,
    User,
)
from usermgmt.domain.rules.mfa import MfaChallenge
from usermgmt.domain.rules.passwords import PASSWORD_MAX_LENGTH, normalize_password
from usermgmt.domain.rules.throttle import LoginAttempt, LoginThrottlePolicy
from usermgmt.domain.verification import VerificationMode
from usermgmt.ports import (
    Clock,
    LoginAttemptStore,
    PasswordHasher,
    UnitOfWork,
)
from usermgmt.usecases._steps import StartSession
from usermgmt.usecases.mfa_login import IssueMfaChallenge


@attrs.frozen(kw_only=True)
class Authenticate:
    """Exchange an email and password for a new session's tokens and a device token.

    Every failure (unknown email, wrong password, deleted or deactivated user)
    costs one password verification and ends in the same error, so neither the
    answer nor its timing tells whether an account exists.

    The attempt is reserved with the throttle before the password is verified,
    and counted as a failure from then on: a success forgives it, an attempt
    that could not be verified at all (the hasher refused the work, or the
    caller went away) is released. So guesses sent at once are throttled
    exactly like guesses sent one after another.

    Under required verification, the right password of an unverified user
    is refused too, but only once it is proven (and the throttle passed): the
    answer tells nothing to someone without the password.

    A refused attempt (throttled, unknown email, wrong password, inactive
    user, unverified address) records :class:`LoginFailed` with its reason on its own, outside
    any transaction: one INSERT, the same for every reason, so recording it
    tells nothing by timing either.
    """

    _uow: UnitOfWork
    _attempts: LoginAttemptStore
    _hasher: PasswordHasher
    _throttle: LoginThrottlePolicy
    _start_session: StartSession
    _challenge: IssueMfaChallenge
    _clock: Clock
    _verification: VerificationMode = VerificationMode.OPTIONAL

    async def __call__(
        self, email: str, password: str, *, client: str = "", device_token: str | None = None
    ) -> TokenPair | MfaChallenge:
        """Sign in from *client* (an IP address, or ``""`` when there is none).

        *device_token* is the one an earlier login from this device returned:
        while it is valid, the account's throttle ceiling does not apply to
        this device. The pair returned carries a fresh device token; the one
        presented is spent.

        For an account with TOTP on (``user.mfa_enabled``), a right password
        returns an :class:`MfaChallenge` instead, and no token: its
        ``mfa_token`` goes to ``verify_mfa`` with a code.

        Raises:
            LoginThrottledError: too many recent failures for this account.
            InvalidCredentialsError: the email and password do not name an
                account that may sign in.
            EmailNotVerifiedError: the password is right, but verification is
                required and the address is not verified yet.
            OverloadedError: too many passwords are waiting to be checked; nothing
                was counted.
            ValueTooLongError: the password is longer than any valid one.
        """
        if len(password) > PASSWORD_MAX_LENGTH:
            raise ValueTooLongError("password", f"must be at most {PASSWORD_MAX_LENGTH} characters")
        self._hasher.check_capacity()  # a flood is refused before it costs a database read
        try:
            address: Email | None = Email.parse(email)
        except ValidationError:
            address = None  # cannot be an account: fail exactly like an unknown one
        email_key = address.key if address else email.strip().lower()
        now = self._clock.now()
        user, stored, device = await self._look_up(address, device_token, now)
        trusted = device is not None and device.vouches_for(user, now)
        try:
            attempt = await self._reserve(email_key, client, device if trusted else None, now)
        except LoginThrottledError:
            await self._refused(LoginFailureReason.THROTTLED, user, now)
            raise

        candidate = normalize_password(password)
        try:
            verified = await self._hasher.verify(
                candidate, stored.password_hash if stored else None
            )
        except BaseException:
            await self._attempts.release(attempt, now)  # never checked: not a guess
            raise
        if user is None or stored is None or not verified or not user.can_sign_in:
            await self._refused(_reason(user, verified=verified), user, now)
            raise InvalidCredentialsError  # the reservation stands: it is the failure

        await self._attempts.clear(attempt)
        if self._hasher.needs_rehash(stored.password_hash):
            await self._upgrade(stored, candidate)
        if self._verification.gates_login and not user.email_verified:
            await self._refused(LoginFailureReason.UNVERIFIED, user, now)
            raise EmailNotVerifiedError  # only now: the password is proven
        if user.mfa_enabled:
            return await self._challenge(user)
        return await self._start_session(
            user, device if trusted else None, credentials=(stored.id,)
        )

    async def _refused(self, reason: LoginFailureReason, user: User | None, now: datetime) -> None:
        """Record the failed attempt on its own: a failure changes nothing it could join."""
        failed = LoginFailed(
            at=now, context=current_request(), reason=reason, user_id=user.id if user else None
        )
        async with self._uow.standalone() as repos:
            await repos.outbox.add(failed)

    async def _upgrade(self, stored: PasswordCredential, password: str) -> None:
        """Re-hash the proven *password* with the current parameters, if the hasher will."""
        try:
            upgraded = await self._hasher.hash(password)
        except OverloadedError:
            return  # it sheds load: the upgrade waits for a later login, the login goes on
        async with self._uow.standalone() as repos:
            await repos.credentials.replace_password_hash(stored.id, stored.password_hash, upgraded)

    async def _look_up(
        self, address: Email | None, device_token: str | None, now: datetime
    ) -> tuple[User | None, PasswordCredential | None, DeviceToken | None]:
        """Read the user with their password (one query), and the device token if one came."""
        if address is None:
            return None, None, None  # no account: no device of one either
        async with self._uow.standalone() as repos:
            found = await repos.credentials.for_login(address)
            device = None
            if device_token is not None:
                device = await repos.devices.get(hash_device_token(device_token), now)
        user, stored = found if found is not None else (None, None)
        return user, stored, device

    async def _reserve(
        self, email_key: str, client: str, device: DeviceToken | None, now: datetime
    ) -> LoginAttempt:
        """Reserve the attempt, or raise :class:`LoginThrottledError` with the wait."""
        attempt = self._throttle.attempt(
            email_key, client, device=device.token_hash.hex() if device else None
        )
        reservation = await self._attempts.reserve(attempt, now)
        if (
            not reservation.admitted
            and device is not None
            and self._throttle.locked_only_by_device(attempt, reservation.records, now)
        ):
            # A device token that failed too often is worth nothing: count as any device.
            attempt = self._throttle.attempt(email_key, client)
            reservation = await self._attempts.reserve(attempt, now)
        if not reservation.admitted:
            raise LoginThrottledError(self._throttle.retry_after(attempt, reservation.records, now))
        return attempt


def _reason(user: User | None, *, verified: bool) -> LoginFailureReason:
    """Say why a login that was not let in failed; "inactive" only once the password is proven."""
    if user is None:
        return LoginFailureReason.UNKNOWN_EMAIL
    if not verified:
        return LoginFailureReason.WRONG_PASSWORD
    return LoginFailureReason.INACTIVE
