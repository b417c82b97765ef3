"""TOTP as a second factor: set it up, confirm it, remove it, recovery codes, an admin's reset.

Setting up makes a pending key that login ignores; a code from the user's
app confirms it, turns ``mfa_enabled`` on, hands out the recovery codes
(the only time they are shown) and ends the user's other sessions. Setting
up, removing and regenerating codes each need the current password;
removing also needs a code. An admin's reset removes every second factor
of a user and ends all of their sessions (a lost phone).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import attrs

from usermgmt.domain.context import current_request
from usermgmt.domain.credentials import RecoveryCode, TotpCredential
from usermgmt.domain.errors import (
    InvalidTotpCodeError,
    MfaNotEnabledError,
    TotpAlreadyEnabledError,
)
from usermgmt.domain.events import (
    MfaDisabled,
    MfaEnabled,
    MfaReset,
    RecoveryCodesRegenerated,
    RecoveryCodeUsed,
)
from usermgmt.domain.mail import Mailbox, MailKind
from usermgmt.domain.model import Actor, Principal, User, UserId
from usermgmt.domain.rules.access import require_admin
from usermgmt.domain.rules.mfa import (
    TotpEnrolment,
    hash_recovery_code,
    match_totp,
    new_recovery_codes,
    new_totp_secret,
)
from usermgmt.ports import Clock, IdGenerator, Repositories, UnitOfWork
from usermgmt.usecases._steps import (
    PasswordChange,
    actor_id,
    change_user,
    prove_current_password,
)
from usermgmt.usecases.mail import QueueMail


def _mfa(*, enabled: bool, now: datetime) -> Callable[[User], User]:
    """Return the change that turns a user's ``mfa_enabled`` on or off at *now*."""
    return lambda user: user.with_mfa(enabled=enabled, now=now)


@attrs.frozen(kw_only=True)
class RecoveryCodes:
    """Makes and stores a user's set of recovery codes, and spends one: shared by the flows."""

    _ids: IdGenerator
    _queue_mail: QueueMail

    async def replace(self, tx: Repositories, user_id: UserId, now: datetime) -> tuple[str, ...]:
        """Store a new set of codes for *user_id* in *tx* (the old set is void); return them."""
        codes = new_recovery_codes()
        stored = [
            RecoveryCode(
                id=self._ids.new_credential_id(),
                user_id=user_id,
                code_hash=hash_recovery_code(code),
                created_at=now,
            )
            for code in codes
        ]
        await tx.credentials.replace_recovery_codes(user_id, stored)
        return codes

    async def spend(self, tx: Repositories, user: User, code: str, now: datetime) -> bool:
        """Spend *user*'s recovery *code* in *tx*, with its event and notice; whether it was one."""
        if not await tx.credentials.spend_recovery_code(user.id, hash_recovery_code(code)):
            return False
        remaining = await tx.credentials.count_recovery_codes(user.id)
        await tx.outbox.add(
            RecoveryCodeUsed(
                at=now, context=current_request(), user_id=user.id, remaining=remaining
            )
        )
        await self._queue_mail(
            tx,
            MailKind.RECOVERY_CODE_USED,
            Mailbox(user.email.value, user.name),
            remaining=str(remaining),
        )
        return True


@attrs.frozen(kw_only=True)
class StartTotp:
    """Set up TOTP: a new pending key, and what the user's app needs to make its codes."""

    _uow: UnitOfWork
    _passwords: PasswordChange
    _clock: Clock
    _ids: IdGenerator
    _issuer: str

    async def __call__(
        self, principal: Principal, *, current_password: str | None
    ) -> TotpEnrolment:
        """Make a pending TOTP key for *principal*'s user, replacing a pending one.

        Login does not ask for it until :class:`ConfirmTotp` confirms it with a code.

        Raises:
            CurrentPasswordRequiredError: *current_password* is missing.
            WrongPasswordError: it is wrong.
            TotpAlreadyEnabledError: TOTP is on already.
        """
        user = principal.user
        await prove_current_password(
            self._uow, self._passwords, user, current_password, action="set up TOTP"
        )
        secret = new_totp_secret()
        now = self._clock.now()
        key = TotpCredential.enrol(
            id=self._ids.new_credential_id(), user_id=user.id, secret=secret, now=now
        )
        async with self._uow() as tx:
            current = await tx.credentials.totp(user.id, for_update=True)
            if current is not None and current.confirmed:
                raise TotpAlreadyEnabledError
            await tx.credentials.set_totp(key)
        return TotpEnrolment.of(secret, account=user.email.value, issuer=self._issuer)


@attrs.frozen(kw_only=True)
class ConfirmTotp:
    """Turn a pending TOTP key on with a code from the app: recovery codes, other sessions end."""

    _uow: UnitOfWork
    _codes: RecoveryCodes
    _clock: Clock

    async def __call__(self, principal: Principal, code: str) -> tuple[str, ...]:
        """Confirm *principal*'s pending key with *code*; return the recovery codes, shown once.

        Login asks for a code from now on (``mfa_enabled``); every other
        session of the user ends, the caller's stays.

        Raises:
            MfaNotEnabledError: there is no pending key to confirm.
            TotpAlreadyEnabledError: TOTP is on already.
            InvalidTotpCodeError: *code* is not the key's code now.
        """
        user_id = principal.user.id
        now = self._clock.now()
        async with self._uow() as tx:
            key = await tx.credentials.totp(user_id, for_update=True)
            if key is None:
                raise MfaNotEnabledError
            if key.confirmed:
                raise TotpAlreadyEnabledError
            step = match_totp(key.secret, code, now)
            if step is None:
                raise InvalidTotpCodeError
            if not await tx.credentials.confirm_totp(key.id, step, now):
                raise TotpAlreadyEnabledError  # confirmed by a parallel call meanwhile
            codes = await self._codes.replace(tx, user_id, now)
            await change_user(
                tx, user_id, lambda u: u.with_mfa(enabled=True, now=now), may_remove_admin=False
            )
            await tx.sessions.revoke_all(user_id, now, keep=principal.session_id)
            await tx.outbox.add(
                MfaEnabled(
                    at=now,
                    context=current_request(),
                    user_id=user_id,
                    kept_session_id=principal.session_id,
                )
            )
        return codes


async def _prove_code(
    tx: Repositories,
    codes: RecoveryCodes,
    user: User,
    key: TotpCredential,
    code: str,
    now: datetime,
) -> bool:
    """Accept *code* as *key*'s TOTP code (once) or as one of *user*'s recovery codes."""
    step = match_totp(key.secret, code, now)
    if step is not None:
        return await tx.credentials.accept_totp_step(key.id, step, now)
    return await codes.spend(tx, user, code, now)


@attrs.frozen(kw_only=True)
class DisableTotp:
    """Remove one's TOTP key and recovery codes, proven by the password and a code."""

    _uow: UnitOfWork
    _passwords: PasswordChange
    _codes: RecoveryCodes
    _clock: Clock

    async def __call__(
        self, principal: Principal, *, current_password: str | None, code: str
    ) -> None:
        """Remove *principal*'s second factors; *code* is a TOTP or a recovery code.

        Raises:
            CurrentPasswordRequiredError: *current_password* is missing.
            WrongPasswordError: it is wrong.
            MfaNotEnabledError: TOTP is not on.
            InvalidTotpCodeError: *code* is neither a TOTP code now nor an unused recovery code.
        """
        user = principal.user
        await prove_current_password(
            self._uow, self._passwords, user, current_password, action="remove TOTP"
        )
        now = self._clock.now()
        async with self._uow() as tx:
            key = await tx.credentials.totp(user.id, for_update=True)
            if key is None or not key.confirmed:
                raise MfaNotEnabledError
            if not await _prove_code(tx, self._codes, user, key, code, now):
                raise InvalidTotpCodeError
            await tx.credentials.remove_second_factors(user.id)
            await change_user(
                tx, user.id, lambda u: u.with_mfa(enabled=False, now=now), may_remove_admin=False
            )
            await tx.outbox.add(MfaDisabled(at=now, context=current_request(), user_id=user.id))


@attrs.frozen(kw_only=True)
class RegenerateRecoveryCodes:
    """Make a new set of recovery codes, proven by the password: the old set is void."""

    _uow: UnitOfWork
    _passwords: PasswordChange
    _codes: RecoveryCodes
    _queue_mail: QueueMail
    _clock: Clock

    async def __call__(
        self, principal: Principal, *, current_password: str | None
    ) -> tuple[str, ...]:
        """Return *principal*'s new recovery codes, shown this once; a notice is mailed.

        Raises:
            CurrentPasswordRequiredError: *current_password* is missing.
            WrongPasswordError: it is wrong.
            MfaNotEnabledError: TOTP is not on.
        """
        user = principal.user
        await prove_current_password(
            self._uow, self._passwords, user, current_password, action="make new recovery codes"
        )
        now = self._clock.now()
        async with self._uow() as tx:
            key = await tx.credentials.totp(user.id, for_update=True)
            if key is None or not key.confirmed:
                raise MfaNotEnabledError
            codes = await self._codes.replace(tx, user.id, now)
            await tx.outbox.add(
                RecoveryCodesRegenerated(at=now, context=current_request(), user_id=user.id)
            )
            await self._queue_mail(
                tx, MailKind.RECOVERY_CODES_REGENERATED, Mailbox(user.email.value, user.name)
            )
        return codes


@attrs.frozen(kw_only=True)
class ResetMfa:
    """An admin's reset of a user's second factors (a lost phone): every session ends."""

    _uow: UnitOfWork
    _clock: Clock

    async def __call__(self, user_id: UserId, *, actor: Actor) -> None:
        """Remove user *user_id*'s TOTP key and recovery codes, and end all their sessions.

        The password stays: the user signs in with it alone, and may set up TOTP again.

        Raises:
            PermissionDeniedError: *actor* is not privileged.
            UserNotFoundError: no such live user.
        """
        require_admin(actor, "reset another user's second factor")
        now = self._clock.now()
        async with self._uow() as tx:
            await change_user(
                tx, user_id, lambda u: u.with_mfa(enabled=False, now=now), may_remove_admin=False
            )
            await tx.credentials.remove_second_factors(user_id)
            ended = await tx.sessions.revoke_all(user_id, now)
            await tx.outbox.add(
                MfaReset(
                    at=now,
                    context=current_request(),
                    user_id=user_id,
                    actor_id=actor_id(actor),
                    sessions_ended=ended,
                )
            )
