"""``usermgmt users mfa-reset``: an operator removes a user's second factor."""

from __future__ import annotations

import pyotp

from usermgmt import SYSTEM, BlockingUserManagement, MfaChallenge, TokenPair

from .conftest import PASSWORD, Cli

EMAIL = "ann@example.org"


def _with_totp(um: BlockingUserManagement) -> str:
    """Register Ann with TOTP on (through the library); return her user id."""
    um.register_user(EMAIL, PASSWORD, "Ann")
    tokens = um.authenticate(EMAIL, PASSWORD)
    assert isinstance(tokens, TokenPair)
    principal = um.validate_access_token(tokens.access_token)
    enrolment = um.start_totp(principal, current_password=PASSWORD)
    um.confirm_totp(principal, pyotp.TOTP(enrolment.secret).now())
    assert isinstance(um.authenticate(EMAIL, PASSWORD), MfaChallenge)
    return str(principal.user.id)


def test_mfa_reset_removes_the_factor_and_ends_every_session(
    cli: Cli, um: BlockingUserManagement
) -> None:
    """By email: the password alone signs in again, and no session of before lives."""
    user_id = _with_totp(um)

    result = cli("users", "mfa-reset", EMAIL.upper())

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"Reset the second factor of {EMAIL} ({user_id}); their sessions ended.\n"
    )
    user = um.find_user(user_id, actor=SYSTEM)
    assert not user.mfa_enabled
    assert um.list_sessions(user.id, actor=SYSTEM) == ()
    assert isinstance(um.authenticate(EMAIL, PASSWORD), TokenPair)


def test_mfa_reset_shows_on_the_user_card(cli: Cli, um: BlockingUserManagement) -> None:
    """``users show`` says whether the second factor is on."""
    user_id = _with_totp(um)
    assert "two-factor  on" in cli("users", "show", user_id).stdout
    cli("users", "mfa-reset", user_id)
    assert "two-factor  off" in cli("users", "show", user_id).stdout


def test_mfa_reset_of_nobody_exits_1(cli: Cli) -> None:
    """An unknown user is an error on one line."""
    result = cli("users", "mfa-reset", "nobody@example.org")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
