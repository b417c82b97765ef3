"""The second step of a login: an ``mfa_token`` and a code exchanged for a session.

A right password for an account with TOTP on starts no session: the login
answers with a challenge (:class:`IssueMfaChallenge`), a one-time token of
purpose ``LOGIN_CHALLENGE`` that lives five minutes. :class:`VerifyMfa`
takes it with a TOTP code (accepted once: its time step is stored) or a
recovery code (spent), and starts the session with ``amr`` ``pwd otp``.

Every failure is one error. Wrong codes are counted per account, under the
login throttle's store with keys of their own (a new ``mfa_token`` resets
nothing), and per ``mfa_token``, which is void after five.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from usermgmt.domain.context import current_request
from usermgmt.domain.credentials import CredentialId
from usermgmt.domain.errors import InvalidMfaCodeError, MfaThrottledError, ValidationError
from usermgmt.domain.events import MfaFailed, MfaFailureReason
from usermgmt.domain.model import TokenPair, User, UserId
from usermgmt.domain.onetime import OneTimeToken, Purpose, hash_one_time_token
from usermgmt.domain.rules.mfa import (
    CHALLENGE_LIFETIME,
    MFA_AMR,
    MfaChallenge,
    MfaThrottlePolicy,
    match_totp,
)
from usermgmt.domain.rules.throttle import FailureRecord
from usermgmt.ports import Clock, LoginAttemptStore, UnitOfWork
from usermgmt.usecases._steps import StartSession
from usermgmt.usecases.totp import RecoveryCodes


@attrs.frozen(kw_only=True)
class IssueMfaChallenge:
    """The step a login takes instead of starting a session when the account has TOTP on."""

    _uow: UnitOfWork
    _clock: Clock

    async def __call__(self, user: User) -> MfaChallenge:
        """Issue *user*'s login challenge, voiding an earlier one; return it."""
        now = self._clock.now()
        token, stored = OneTimeToken.issue(
            user_id=user.id, purpose=Purpose.LOGIN_CHALLENGE, now=now, lifetime=CHALLENGE_LIFETIME
        )
        async with self._uow.standalone() as repos:
            await repos.one_time_tokens.issue(stored)
        return MfaChallenge(mfa_token=token, expires_in=int(CHALLENGE_LIFETIME.total_seconds()))


@attrs.frozen(kw_only=True)
class VerifyMfa:
    """Finish a login with its ``mfa_token`` and a TOTP or recovery code: the token pair."""

    _uow: UnitOfWork
    _attempts: LoginAttemptStore
    _throttle: MfaThrottlePolicy
    _codes: RecoveryCodes
    _start_session: StartSession
    _clock: Clock

    async def __call__(
        self, mfa_token: str, *, code: str | None = None, recovery_code: str | None = None
    ) -> TokenPair:
        """Start the session that the login of *mfa_token* asked a second factor for.

        Exactly one of *code* (from the authenticator app) and *recovery_code*
        is given. The access token's ``amr`` is ``["pwd", "otp"]``.

        Raises:
            ValidationError: neither or both of *code* and *recovery_code*.
            InvalidMfaCodeError: the token is unknown, spent, expired or void,
                or the code is wrong, already used or spent (one error for all).
            MfaThrottledError: too many wrong codes on this account lately.
        """
        if (code is None) == (recovery_code is None):
            raise ValidationError("code", "give either code or recovery_code")
        digest = hash_one_time_token(mfa_token)
        now = self._clock.now()
        async with self._uow.standalone() as repos:
            found = await repos.one_time_tokens.find(digest, Purpose.LOGIN_CHALLENGE, now)
            user = await repos.users.get(found.user_id) if found is not None else None
            key = await repos.credentials.totp(user.id) if user is not None else None
        if found is None or user is None or not user.can_sign_in or key is None:
            await self._failed(
                MfaFailureReason.INVALID_CHALLENGE, found.user_id if found else None, now
            )
            raise InvalidMfaCodeError
        attempt = self._throttle.attempt(user.id, digest)
        reservation = await self._attempts.reserve(attempt, now)
        if not reservation.admitted:
            await self._failed(MfaFailureReason.THROTTLED, user.id, now)
            raise MfaThrottledError(self._throttle.retry_after(attempt, reservation.records, now))
        try:
            reason = await self._check(user, key.id, key.secret, code, recovery_code, digest, now)
        except BaseException:
            await self._attempts.release(attempt, now)  # never checked: not a guess
            raise
        if reason is not None:
            await self._refuse(reason, user.id, reservation.records, digest, now)
        await self._attempts.clear(attempt)
        return await self._start_session(user, credentials=(key.id,), amr=MFA_AMR)

    async def _check(
        self,
        user: User,
        key_id: CredentialId,
        secret: str,
        code: str | None,
        recovery_code: str | None,
        digest: bytes,
        now: datetime,
    ) -> MfaFailureReason | None:
        """Accept the code and spend the challenge in one transaction; ``None`` when it worked."""
        async with self._uow() as tx:
            if code is not None:
                step = match_totp(secret, code, now)
                if step is None:
                    return MfaFailureReason.WRONG_CODE
                if not await tx.credentials.accept_totp_step(key_id, step, now):
                    return MfaFailureReason.REPLAYED_CODE
            elif recovery_code is not None and not await self._codes.spend(
                tx, user, recovery_code, now
            ):
                return MfaFailureReason.WRONG_CODE
            if await tx.one_time_tokens.spend(digest, Purpose.LOGIN_CHALLENGE, now) is None:
                raise InvalidMfaCodeError  # a parallel verification won: roll this one back
        return None

    async def _refuse(
        self,
        reason: MfaFailureReason,
        user_id: UserId,
        records: tuple[FailureRecord | None, ...],
        digest: bytes,
        now: datetime,
    ) -> None:
        """Record the failure; a challenge past its wrong codes is void. Always raises."""
        async with self._uow.standalone() as repos:
            if self._throttle.challenge_spent(records):
                await repos.one_time_tokens.spend(digest, Purpose.LOGIN_CHALLENGE, now)
            await repos.outbox.add(
                MfaFailed(at=now, context=current_request(), reason=reason, user_id=user_id)
            )
        raise InvalidMfaCodeError

    async def _failed(
        self, reason: MfaFailureReason, user_id: UserId | None, now: datetime
    ) -> None:
        async with self._uow.standalone() as repos:
            await repos.outbox.add(
                MfaFailed(at=now, context=current_request(), reason=reason, user_id=user_id)
            )
