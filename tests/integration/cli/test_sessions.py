"""``usermgmt sessions revoke``: sign a user out everywhere."""

from __future__ import annotations

import pytest

from usermgmt import SYSTEM, BlockingUserManagement, InvalidTokenError

from .conftest import PASSWORD, Cli


@pytest.mark.parametrize("by", ["id", "email"])
def test_revoke_ends_every_session_and_counts_them(
    cli: Cli, um: BlockingUserManagement, by: str
) -> None:
    """Both sessions' tokens are refused afterwards; the account itself still signs in."""
    user = um.register_user("ann@example.org", PASSWORD)
    first = um.authenticate("ann@example.org", PASSWORD)
    second = um.authenticate("ann@example.org", PASSWORD)
    reference = str(user.id) if by == "id" else "Ann@Example.org"

    result = cli("sessions", "revoke", reference)

    assert result.exit_code == 0, result.output
    assert result.stdout == "Ended 2 sessions of ann@example.org.\n"
    for tokens in (first, second):
        with pytest.raises(InvalidTokenError):
            um.validate_access_token(tokens.access_token)
        with pytest.raises(InvalidTokenError):
            um.refresh(tokens.refresh_token)
    assert um.authenticate("ann@example.org", PASSWORD).access_token


def test_revoke_with_no_live_session_ends_none(cli: Cli, um: BlockingUserManagement) -> None:
    """A user without sessions is fine: zero ended, exit 0."""
    um.register_user("ann@example.org", PASSWORD)

    result = cli("sessions", "revoke", "ann@example.org")

    assert (result.exit_code, result.stdout) == (0, "Ended 0 sessions of ann@example.org.\n")


def test_revoke_for_an_unknown_user_exits_1(cli: Cli) -> None:
    """Nobody to sign out: "not found", exit 1, one line."""
    result = cli("sessions", "revoke", "nobody@example.org")

    assert result.exit_code == 1
    assert result.stderr == "Error: No user nobody@example.org.\n"


def test_revoke_of_a_deleted_user_exits_1(cli: Cli, um: BlockingUserManagement) -> None:
    """A deleted user's sessions ended with the delete; naming them is "not found"."""
    user = um.register_user("ann@example.org", PASSWORD)
    um.delete_user(user.id, actor=SYSTEM)

    result = cli("sessions", "revoke", str(user.id))

    assert result.exit_code == 1
