"""Second-factor rules: TOTP codes (RFC 6238) and recovery codes.

TOTP is SHA-1, 6 digits, 30-second steps, as every authenticator app
speaks it; a code is accepted for the current step and one step either
side (clocks drift, typing takes time), and never for a step at or before
the last one accepted, so a code seen over a shoulder cannot be replayed.
The arithmetic is pyotp's; the time comes from the caller, so tests
choose it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import math
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Final

import attrs
import pyotp

from usermgmt.domain.model import UserId
from usermgmt.domain.rules.throttle import (
    BackOffSchedule,
    FailureRecord,
    LoginAttempt,
    LoginThrottlePolicy,
    ThrottleCounter,
)

TOTP_PERIOD: Final = 30
"""Seconds per time step."""
TOTP_DIGITS: Final = 6
TOTP_WINDOW: Final = 1
"""Steps accepted either side of the current one."""
RECOVERY_CODE_COUNT: Final = 10
RECOVERY_CODE_BYTES: Final = 10
"""80 random bits a code: more than the 64 the contract asks."""
_GROUP: Final = 4
CHALLENGE_LIFETIME: Final = timedelta(minutes=5)
"""How long the ``mfa_token`` of a login's first step lives."""
CHALLENGE_MAX_FAILURES: Final = 5
"""Wrong codes one ``mfa_token`` allows; the next failure's token is void."""
MFA_METHODS: Final = ("totp", "recovery_code")
"""What a login's second step accepts."""
MFA_AMR: Final = ("pwd", "otp")
"""How a session signed in with a password and a second factor was authenticated (RFC 8176)."""


def new_totp_secret() -> str:
    """Return a fresh base32 TOTP key (160 bits, as RFC 4226 recommends)."""
    return pyotp.random_base32(32)


def time_step(now: datetime) -> int:
    """Return the TOTP time step that *now* falls in."""
    return int(now.timestamp()) // TOTP_PERIOD


def totp_code(secret: str, step: int) -> str:
    """Return the code of *secret* for time step *step*."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD).at(step * TOTP_PERIOD)


def _candidate_steps(now: datetime) -> Iterator[int]:
    current = time_step(now)
    yield from range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1)


def match_totp(secret: str, code: str, now: datetime, *, after: int | None = None) -> int | None:
    """Return the time step whose code *code* is, within the window around *now*, or ``None``.

    Only steps later than *after* (the last one accepted) count. A code that
    is not six digits matches nothing. Every candidate is compared in
    constant time.
    """
    typed = code.strip().replace(" ", "")
    if len(typed) != TOTP_DIGITS or not typed.isascii() or not typed.isdigit():
        return None
    found = None
    for step in _candidate_steps(now):
        if hmac.compare_digest(totp_code(secret, step), typed) and (after is None or step > after):
            found = step if found is None else max(found, step)
    return found


@attrs.frozen(kw_only=True)
class TotpEnrolment:
    """What a user's app needs to start making codes: shown once, when TOTP is set up.

    *secret* for typing in by hand, *otpauth_uri* for a link on the phone
    itself, *qr_svg* (an SVG document of that URI) to scan.
    """

    secret: str = attrs.field(repr=False)
    otpauth_uri: str = attrs.field(repr=False)
    qr_svg: str = attrs.field(repr=False)

    @classmethod
    def of(cls, secret: str, *, account: str, issuer: str) -> TotpEnrolment:
        """Return the enrolment of *secret* for *account* (an email), named by *issuer*."""
        uri = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD).provisioning_uri(
            name=account, issuer_name=issuer
        )
        # Imported here, at enrolment: segno takes longer to load than the rest of the CLI.
        import segno  # noqa: PLC0415

        buffer = io.BytesIO()
        segno.make(uri, error="m").save(buffer, kind="svg", scale=4, xmldecl=False)
        svg = buffer.getvalue().decode("utf-8")
        return cls(secret=secret, otpauth_uri=uri, qr_svg=svg)


def new_recovery_codes() -> tuple[str, ...]:
    """Return a fresh set of recovery codes, each 80 random bits in base32 groups.

    A code reads ``abcd-efgh-ijkl-mnop``: 16 base32 characters (no padding
    at 80 bits), lower case, with dashes for the eye only.
    """
    return tuple(
        _format(secrets.token_bytes(RECOVERY_CODE_BYTES)) for _ in range(RECOVERY_CODE_COUNT)
    )


def _format(raw: bytes) -> str:
    text = base64.b32encode(raw).decode("ascii").lower()
    return "-".join(text[i : i + _GROUP] for i in range(0, len(text), _GROUP))


def hash_recovery_code(code: str) -> str:
    """Return the digest a recovery code is stored under (hex SHA-256 of its canonical form).

    The canonical form ignores case, spaces and dashes, so a code typed as
    shown, or without its dashes, matches. SHA-256 without salt or stretching
    is enough here, unlike for a password: a code is 80 bits from
    :mod:`secrets`, so the 2**80 guesses a stolen digest would need are out of
    reach however fast the hash, and the digest of a code not made by us
    matches nothing. ASVS 6.5.2 asks for a hash, not a slow one, for such
    secrets.
    """
    canonical = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


@attrs.frozen(kw_only=True)
class MfaChallenge:
    """A login's first step passed: the second is asked for with *mfa_token*.

    *mfa_token* is a one-time token (256 bits, stored as its digest) that
    lives *expires_in* seconds and allows a few wrong codes; *methods* are
    what :class:`~usermgmt.usecases.mfa.VerifyMfa` accepts with it.
    """

    mfa_token: str = attrs.field(repr=False)
    expires_in: int
    methods: tuple[str, ...] = MFA_METHODS
    mfa_required: bool = True


@attrs.frozen(kw_only=True)
class MfaThrottlePolicy:
    """Back-off after wrong second-factor codes, per account and per ``mfa_token``.

    After *max_failures* wrong codes on one account, whatever ``mfa_token``
    they came with, each further attempt waits ``base_delay * 2**n``
    (capped at *max_delay*) after the last failure, as the login throttle
    does; a new ``mfa_token`` resets nothing, and neither does a password
    change, so the password alone never buys more guesses. Each
    ``mfa_token`` also counts its own wrong codes (without locking): at
    *per_challenge* it is void. A success clears both counters.
    """

    max_failures: int = 5
    per_challenge: int = CHALLENGE_MAX_FAILURES
    base_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=15)
    forget_after: timedelta = timedelta(hours=24)

    def schedule(self) -> BackOffSchedule:
        """Return the locks, doubling up to the cap (the login throttle's arithmetic)."""
        return LoginThrottlePolicy(
            base_delay=self.base_delay, max_delay=self.max_delay, forget_after=self.forget_after
        ).schedule()

    def attempt(self, user_id: UserId, challenge_hash: bytes) -> LoginAttempt:
        """Return the attempt of a code for *user_id* with the challenge of *challenge_hash*."""
        account = _digest("mfa-account", str(user_id))
        challenge = _digest("mfa-challenge", challenge_hash.hex())
        return LoginAttempt(
            account=account,
            counters=(
                ThrottleCounter(key=account, threshold=self.max_failures),
                ThrottleCounter(key=challenge, threshold=0),  # counted, never locked
            ),
            schedule=self.schedule(),
        )

    def retry_after(
        self, attempt: LoginAttempt, records: tuple[FailureRecord | None, ...], now: datetime
    ) -> int:
        """Return the whole seconds a refused *attempt* waits (at least 1)."""
        wait = max(attempt.waits(records, now), default=timedelta(0))
        return max(1, math.ceil(wait.total_seconds()))

    def challenge_spent(self, records: tuple[FailureRecord | None, ...]) -> bool:
        """Whether the challenge's counter in *records* (after a failure) reached its limit."""
        record = records[1]
        return record is not None and record.failures >= self.per_challenge


def _digest(*parts: str) -> str:
    """The key a counter is stored under: it names no account in the clear."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()
