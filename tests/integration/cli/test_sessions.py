"""``usermgmt sessions list`` and ``sessions revoke``: a user's devices, and signing them out."""

from __future__ import annotations

import json
import uuid

import pytest

from usermgmt import SYSTEM, BlockingUserManagement, InvalidTokenError, TokenPair, UserManagement
from usermgmt.domain.context import RequestContext, request_context

from .conftest import PASSWORD, Cli


def _login_from(um: BlockingUserManagement, ip: str, user_agent: str) -> TokenPair:
    """Sign ann in as a request from *ip* with *user_agent* would."""

    async def login(service: UserManagement) -> TokenPair:
        with request_context(RequestContext(ip=ip, user_agent=user_agent)):
            return await service.authenticate("ann@example.org", PASSWORD)

    return um.portal.call(login, um.service)


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


def test_revoke_one_session_ends_only_that_one(cli: Cli, um: BlockingUserManagement) -> None:
    """--session ends the session named; the user's other session keeps working."""
    user = um.register_user("ann@example.org", PASSWORD)
    lost = um.authenticate("ann@example.org", PASSWORD)
    kept = um.authenticate("ann@example.org", PASSWORD)
    lost_id = um.validate_access_token(lost.access_token).session_id

    result = cli("sessions", "revoke", "ann@example.org", "--session", str(lost_id))

    assert result.exit_code == 0, result.output
    assert result.stdout == f"Ended session {lost_id} of ann@example.org.\n"
    with pytest.raises(InvalidTokenError):
        um.validate_access_token(lost.access_token)
    with pytest.raises(InvalidTokenError):
        um.refresh(lost.refresh_token)
    assert um.validate_access_token(kept.access_token).user.id == user.id
    assert [s.id for s in um.list_sessions(user.id, actor=SYSTEM)] == [
        um.validate_access_token(kept.access_token).session_id
    ]


@pytest.mark.parametrize("whose", ["unknown", "another user's", "already ended"])
def test_revoke_of_a_session_that_is_not_the_users_live_one_exits_1(
    cli: Cli, um: BlockingUserManagement, whose: str
) -> None:
    """An id that is no live session of this user: one clear line, exit 1, nothing ended."""
    um.register_user("ann@example.org", PASSWORD)
    um.register_user("bob@example.org", PASSWORD)
    ann = um.authenticate("ann@example.org", PASSWORD)
    bob = um.authenticate("bob@example.org", PASSWORD)
    if whose == "unknown":
        session_id = str(uuid.uuid4())
    elif whose == "another user's":
        session_id = str(um.validate_access_token(bob.access_token).session_id)
    else:
        ended = um.authenticate("ann@example.org", PASSWORD)
        principal = um.validate_access_token(ended.access_token)
        session_id = str(principal.session_id)
        um.logout(principal)

    result = cli("sessions", "revoke", "ann@example.org", "--session", session_id)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: No live session {session_id} of ann@example.org: nothing ended.\n"
    )
    assert um.validate_access_token(ann.access_token).user.email.value == "ann@example.org"
    assert um.validate_access_token(bob.access_token).user.email.value == "bob@example.org"


def test_revoke_with_a_malformed_session_id_is_a_usage_error(cli: Cli) -> None:
    """--session takes a UUID: anything else exits 2 before the database is asked."""
    result = cli("sessions", "revoke", "ann@example.org", "--session", "my-phone")

    assert result.exit_code == 2
    assert "'my-phone' is not a session id" in " ".join(result.stderr.split())


def test_list_shows_live_sessions_newest_first_as_json(
    cli: Cli, um: BlockingUserManagement
) -> None:
    """--json: the fields of the admin route, newest first, without ended sessions or tokens."""
    user = um.register_user("ann@example.org", PASSWORD)
    laptop = _login_from(um, "203.0.113.7", "Firefox on a laptop")
    phone = _login_from(um, "2001:db8::1", "Safari on a phone")
    um.logout(um.validate_access_token(um.authenticate("ann@example.org", PASSWORD).access_token))

    result = cli("sessions", "list", str(user.id), "--json")

    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    expected = {str(s.id): s for s in um.list_sessions(user.id, actor=SYSTEM)}
    assert [item["id"] for item in items] == [
        str(um.validate_access_token(t.access_token).session_id) for t in (phone, laptop)
    ]
    assert list(expected) == [item["id"] for item in items]
    assert items[0] == {
        "id": items[0]["id"],
        "created_at": items[0]["created_at"],
        "last_used_at": items[0]["created_at"],
        "expires_at": items[0]["expires_at"],
        "ip": "2001:db8::1",
        "user_agent": "Safari on a phone",
        "amr": ["pwd"],
        "current": False,
    }
    assert items[0]["created_at"].endswith("Z")
    assert items[1]["ip"] == "203.0.113.7"
    for tokens in (laptop, phone):
        assert tokens.access_token not in result.stdout
        assert tokens.refresh_token not in result.stdout


def test_list_shows_a_table_by_email(cli: Cli, um: BlockingUserManagement) -> None:
    """A header, then one line per live session: its id, address, methods and user agent."""
    um.register_user("ann@example.org", PASSWORD)
    tokens = _login_from(um, "203.0.113.7", "curl/8.5\x1b[2J")
    session_id = um.validate_access_token(tokens.access_token).session_id

    result = cli("sessions", "list", "ANN@example.org")

    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert "LAST USED (UTC)" in lines[0]
    assert "USER AGENT" in lines[0]
    assert len(lines) == 3  # header, rule, one session
    assert str(session_id) in lines[2]
    assert "203.0.113.7" in lines[2]
    assert "pwd" in lines[2]
    assert "curl/8.5\\x1b[2J" in lines[2]  # an escape sequence is shown, never obeyed
    assert "\x1b" not in result.stdout


def test_list_without_live_sessions_says_so(cli: Cli, um: BlockingUserManagement) -> None:
    """No live session: one plain line (and an empty array for scripts)."""
    um.register_user("ann@example.org", PASSWORD)

    table = cli("sessions", "list", "ann@example.org")
    as_json = cli("sessions", "list", "ann@example.org", "--json")

    assert (table.exit_code, table.stdout) == (0, "No live sessions of ann@example.org.\n")
    assert (as_json.exit_code, json.loads(as_json.stdout)) == (0, [])


def test_list_for_an_unknown_user_exits_1(cli: Cli) -> None:
    """Nobody by that email: exit 1, one line."""
    result = cli("sessions", "list", "nobody@example.org")

    assert result.exit_code == 1
    assert result.stderr == "Error: No user nobody@example.org.\n"
