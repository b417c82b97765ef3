"""TOTP and recovery codes over memory, on a clock the tests move: the rules and the flows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from usermgmt import (
    SYSTEM,
    CurrentPasswordRequiredError,
    InvalidCredentialsError,
    InvalidMfaCodeError,
    InvalidTokenError,
    InvalidTotpCodeError,
    ManualClock,
    MfaChallenge,
    MfaNotEnabledError,
    MfaThrottledError,
    PermissionDeniedError,
    Principal,
    TokenPair,
    TotpAlreadyEnabledError,
    UserManagement,
    WrongPasswordError,
)
from usermgmt.domain.rules.mfa import (
    RECOVERY_CODE_COUNT,
    hash_recovery_code,
    match_totp,
    new_recovery_codes,
    new_totp_secret,
    time_step,
    totp_code,
)
from usermgmt.events import (
    Delivery,
    Event,
    MailRequested,
    MfaEnabled,
    MfaFailed,
    RecoveryCodeUsed,
)

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery"
EMAIL = "ann@example.org"
STEP = timedelta(seconds=30)
START = datetime(2026, 1, 1, tzinfo=UTC)  # a step boundary: 1767225600 is a multiple of 30


# --- the rules -----------------------------------------------------------------------------


def test_a_code_matches_its_step_and_one_step_either_side_only() -> None:
    """The window is ±1 step: the code of step s is good from s-1 to s+1, never at s±2."""
    secret = new_totp_secret()
    now = START + timedelta(seconds=45)  # inside step s
    step = time_step(now)
    for offset in (-1, 0, 1):
        assert match_totp(secret, totp_code(secret, step + offset), now) == step + offset
    for offset in (-2, 2):
        assert match_totp(secret, totp_code(secret, step + offset), now) is None


def test_the_boundary_second_belongs_to_the_next_step() -> None:
    """At :00 and :30 a new step begins; the second before it still belongs to the old one."""
    secret = new_totp_secret()
    last_of_first = START + timedelta(seconds=29)
    first_of_second = START + timedelta(seconds=30)
    assert time_step(last_of_first) + 1 == time_step(first_of_second)
    old = totp_code(secret, time_step(START) - 1)  # two steps before the second step
    assert match_totp(secret, old, last_of_first) is not None
    assert match_totp(secret, old, first_of_second) is None


def test_our_codes_are_the_ones_authenticator_apps_make() -> None:
    """Pyotp's own TOTP (what apps compute, RFC 6238 SHA-1/6/30) gives the same code."""
    secret = new_totp_secret()
    assert totp_code(secret, time_step(START)) == pyotp.TOTP(secret).at(START)


def test_a_step_at_or_before_the_last_accepted_never_matches() -> None:
    """A replay, or an older code after a newer one, is refused by the rule already."""
    secret = new_totp_secret()
    step = time_step(START)
    code = totp_code(secret, step)
    assert match_totp(secret, code, START, after=step - 1) == step
    assert match_totp(secret, code, START, after=step) is None
    assert match_totp(secret, totp_code(secret, step - 1), START, after=step) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "12 34 5"])
def test_what_is_not_six_digits_matches_nothing(code: str) -> None:
    """What is not six digits matches nothing."""
    assert match_totp(new_totp_secret(), code, START) is None


def test_recovery_codes_are_ten_distinct_80_bit_codes_matched_however_typed() -> None:
    """Ten codes of 16 base32 characters (80 bits) each, in groups of four."""
    codes = new_recovery_codes()
    assert len(set(codes)) == RECOVERY_CODE_COUNT
    for code in codes:
        assert re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}", code)
        typed = code.replace("-", " ").upper()
        assert hash_recovery_code(typed) == hash_recovery_code(code)
    assert hash_recovery_code(codes[0]) != hash_recovery_code(codes[1])


def _collect(um: UserManagement, kind: type[Event]) -> list[Event]:
    """Subscribe to *kind*; return the list its events are put in as they are dispatched."""
    seen: list[Event] = []

    async def keep(delivery: Delivery[Event]) -> None:
        seen.append(delivery.event)

    um.subscribe(kind, keep)
    return seen


# --- the flows -----------------------------------------------------------------------------


async def _signed_in(um: UserManagement) -> tuple[Principal, TokenPair]:
    tokens = await um.authenticate(EMAIL, PASSWORD)
    assert isinstance(tokens, TokenPair)
    return await um.validate_access_token(tokens.access_token), tokens


async def _with_totp(um: UserManagement, clock: ManualClock) -> tuple[str, tuple[str, ...]]:
    """Register Ann, turn TOTP on; return the secret and the recovery codes."""
    await um.register_user(EMAIL, PASSWORD)
    principal, _ = await _signed_in(um)
    enrolment = await um.start_totp(principal, current_password=PASSWORD)
    codes = await um.confirm_totp(principal, pyotp.TOTP(enrolment.secret).at(clock.now()))
    clock.advance(STEP)  # the confirming code is spent: tests use the next step's
    return enrolment.secret, codes


async def _challenge(um: UserManagement) -> MfaChallenge:
    answer = await um.authenticate(EMAIL, PASSWORD)
    assert isinstance(answer, MfaChallenge)
    return answer


async def test_setting_up_needs_the_password_and_gives_an_app_what_it_needs(
    um: UserManagement,
) -> None:
    """Setting up needs the password and gives an app what it needs."""
    await um.register_user(EMAIL, PASSWORD)
    principal, _ = await _signed_in(um)

    with pytest.raises(CurrentPasswordRequiredError):
        await um.start_totp(principal, current_password=None)
    with pytest.raises(WrongPasswordError):
        await um.start_totp(principal, current_password="not it at all")
    enrolment = await um.start_totp(principal, current_password=PASSWORD)

    assert enrolment.otpauth_uri.startswith("otpauth://totp/usermgmt:ann%40example.org?")
    assert f"secret={enrolment.secret}" in enrolment.otpauth_uri
    assert "issuer=usermgmt" in enrolment.otpauth_uri
    assert enrolment.qr_svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert len(pyotp.TOTP(enrolment.secret).byte_secret()) == 20


async def test_a_pending_key_is_not_asked_for_and_a_second_set_up_replaces_it(
    um: UserManagement, clock: ManualClock
) -> None:
    """A pending key is not asked for and a second set up replaces it."""
    await um.register_user(EMAIL, PASSWORD)
    principal, _ = await _signed_in(um)
    first = await um.start_totp(principal, current_password=PASSWORD)
    assert isinstance(await um.authenticate(EMAIL, PASSWORD), TokenPair)

    second = await um.start_totp(principal, current_password=PASSWORD)
    with pytest.raises(InvalidTotpCodeError):
        await um.confirm_totp(principal, pyotp.TOTP(first.secret).at(clock.now()))
    codes = await um.confirm_totp(principal, pyotp.TOTP(second.secret).at(clock.now()))
    assert len(codes) == RECOVERY_CODE_COUNT


async def test_confirming_turns_it_on_and_ends_the_other_sessions(
    um: UserManagement, clock: ManualClock
) -> None:
    """Confirming turns it on and ends the other sessions."""
    await um.register_user(EMAIL, PASSWORD)
    principal, _ = await _signed_in(um)
    _, other = await _signed_in(um)
    enrolment = await um.start_totp(principal, current_password=PASSWORD)

    with pytest.raises(MfaNotEnabledError):
        await um.regenerate_recovery_codes(principal, current_password=PASSWORD)
    await um.confirm_totp(principal, pyotp.TOTP(enrolment.secret).at(clock.now()))

    me = await um.get_user(principal.user.id, actor=SYSTEM)
    assert me.mfa_enabled
    with pytest.raises(InvalidTokenError):
        await um.refresh(other.refresh_token)
    with pytest.raises(TotpAlreadyEnabledError):
        await um.start_totp(principal, current_password=PASSWORD)
    sessions = await um.list_sessions(principal.user.id, actor=SYSTEM)
    assert [s.id for s in sessions] == [principal.session_id]


async def test_login_then_asks_for_a_code_and_a_code_works_once(
    um: UserManagement, clock: ManualClock
) -> None:
    """Login then asks for a code and a code works once."""
    secret, _ = await _with_totp(um, clock)
    first = await _challenge(um)
    assert first.expires_in == 300
    assert first.methods == ("totp", "recovery_code")
    code = pyotp.TOTP(secret).at(clock.now())

    tokens = await um.verify_mfa(first.mfa_token, code=code)
    principal = await um.validate_access_token(tokens.access_token)
    sessions = await um.list_own_sessions(principal)
    assert sessions[0].amr == ("pwd", "otp")

    replay = await _challenge(um)
    with pytest.raises(InvalidMfaCodeError):
        await um.verify_mfa(replay.mfa_token, code=code)  # the same step again
    with pytest.raises(InvalidMfaCodeError):
        await um.verify_mfa(first.mfa_token, code=code)  # a spent challenge
    clock.advance(STEP)
    assert await um.verify_mfa(replay.mfa_token, code=pyotp.TOTP(secret).at(clock.now()))


async def test_a_wrong_password_still_says_nothing_of_the_factor(
    um: UserManagement, clock: ManualClock
) -> None:
    """A wrong password still says nothing of the factor."""
    await _with_totp(um, clock)
    with pytest.raises(InvalidCredentialsError):
        await um.authenticate(EMAIL, "not the password at all")


async def test_a_challenge_lives_five_minutes(um: UserManagement, clock: ManualClock) -> None:
    """A challenge lives five minutes."""
    secret, _ = await _with_totp(um, clock)
    challenge = await _challenge(um)
    clock.advance(timedelta(minutes=5))
    with pytest.raises(InvalidMfaCodeError):
        await um.verify_mfa(challenge.mfa_token, code=pyotp.TOTP(secret).at(clock.now()))


async def test_a_challenge_allows_five_wrong_codes_and_the_account_backs_off(
    um: UserManagement, clock: ManualClock
) -> None:
    """Five wrong codes void the token and throttle the account; a new token resets nothing."""
    secret, _ = await _with_totp(um, clock)
    challenge = await _challenge(um)
    for _ in range(5):
        with pytest.raises(InvalidMfaCodeError):
            await um.verify_mfa(challenge.mfa_token, code="000000")
    fresh = await _challenge(um)
    with pytest.raises(MfaThrottledError) as first:
        await um.verify_mfa(fresh.mfa_token, code=pyotp.TOTP(secret).at(clock.now()))
    assert first.value.retry_after == 1

    clock.advance(timedelta(seconds=1))
    with pytest.raises(InvalidMfaCodeError):  # admitted again, and wrong again
        await um.verify_mfa(fresh.mfa_token, code="000000")
    with pytest.raises(MfaThrottledError) as second:
        await um.verify_mfa(fresh.mfa_token, code="000000")
    assert second.value.retry_after == 2

    clock.advance(timedelta(seconds=2))
    with pytest.raises(InvalidMfaCodeError):  # the first token is void after five
        await um.verify_mfa(challenge.mfa_token, code=pyotp.TOTP(secret).at(clock.now()))
    clock.advance(timedelta(seconds=4))
    assert await um.verify_mfa(fresh.mfa_token, code=pyotp.TOTP(secret).at(clock.now()))


async def test_a_recovery_code_works_once_and_says_so(
    um: UserManagement, clock: ManualClock
) -> None:
    """A recovery code works once and says so."""
    _, codes = await _with_totp(um, clock)
    seen = _collect(um, RecoveryCodeUsed)
    mails = _collect(um, MailRequested)

    tokens = await um.verify_mfa((await _challenge(um)).mfa_token, recovery_code=codes[0].upper())
    assert tokens.access_token
    with pytest.raises(InvalidMfaCodeError):
        await um.verify_mfa((await _challenge(um)).mfa_token, recovery_code=codes[0])
    await um.dispatch_events()
    assert [e.remaining for e in seen if isinstance(e, RecoveryCodeUsed)] == [
        RECOVERY_CODE_COUNT - 1
    ]
    notices = [e.kind for e in mails if isinstance(e, MailRequested)]
    assert [kind for kind in notices if kind != "verify-email"] == ["recovery-code-used"]


async def test_regenerating_voids_the_old_set(um: UserManagement, clock: ManualClock) -> None:
    """Regenerating voids the old set."""
    _, old = await _with_totp(um, clock)
    challenge = await _challenge(um)
    principal = await um.validate_access_token(
        (await um.verify_mfa(challenge.mfa_token, recovery_code=old[0])).access_token
    )
    with pytest.raises(CurrentPasswordRequiredError):
        await um.regenerate_recovery_codes(principal, current_password=None)
    new = await um.regenerate_recovery_codes(principal, current_password=PASSWORD)

    assert not set(new) & set(old)
    with pytest.raises(InvalidMfaCodeError):
        await um.verify_mfa((await _challenge(um)).mfa_token, recovery_code=old[1])
    assert await um.verify_mfa((await _challenge(um)).mfa_token, recovery_code=new[1])


async def test_removing_needs_the_password_and_a_code(
    um: UserManagement, clock: ManualClock
) -> None:
    """Removing needs the password and a code."""
    secret, codes = await _with_totp(um, clock)
    principal = await um.validate_access_token(
        (await um.verify_mfa((await _challenge(um)).mfa_token, recovery_code=codes[0])).access_token
    )
    with pytest.raises(WrongPasswordError):
        await um.disable_totp(principal, current_password="wrong one", code=codes[1])
    with pytest.raises(InvalidTotpCodeError):
        await um.disable_totp(principal, current_password=PASSWORD, code="000000")
    await um.disable_totp(
        principal, current_password=PASSWORD, code=pyotp.TOTP(secret).at(clock.now())
    )

    assert isinstance(await um.authenticate(EMAIL, PASSWORD), TokenPair)
    assert not (await um.get_user(principal.user.id, actor=SYSTEM)).mfa_enabled
    with pytest.raises(MfaNotEnabledError):
        await um.disable_totp(principal, current_password=PASSWORD, code=codes[2])


async def test_an_admin_reset_removes_the_factor_and_every_session(
    um: UserManagement, clock: ManualClock
) -> None:
    """An admin reset removes the factor and every session."""
    _, codes = await _with_totp(um, clock)
    pair = await um.verify_mfa((await _challenge(um)).mfa_token, recovery_code=codes[0])
    principal = await um.validate_access_token(pair.access_token)

    with pytest.raises(PermissionDeniedError):
        await um.reset_mfa(principal.user.id, actor=principal)
    await um.reset_mfa(principal.user.id, actor=SYSTEM)

    assert await um.list_sessions(principal.user.id, actor=SYSTEM) == ()
    assert isinstance(await um.authenticate(EMAIL, PASSWORD), TokenPair)
    async with um._parts.uow.standalone() as repos:
        assert await repos.credentials.totp(principal.user.id) is None
        assert await repos.credentials.count_recovery_codes(principal.user.id) == 0


async def test_failures_and_enabling_are_recorded(um: UserManagement, clock: ManualClock) -> None:
    """Failures and enabling are recorded."""
    enabled = _collect(um, MfaEnabled)
    failed = _collect(um, MfaFailed)
    await _with_totp(um, clock)
    with pytest.raises(InvalidMfaCodeError):
        await um.verify_mfa((await _challenge(um)).mfa_token, code="000000")
    with pytest.raises(InvalidMfaCodeError):
        await um.verify_mfa("no such token", code="000000")
    await um.dispatch_events()
    assert len(enabled) == 1
    assert [e.reason for e in failed if isinstance(e, MfaFailed)] == [
        "wrong_code",
        "invalid_challenge",
    ]
