"""The sessions a user sees and ends, and an admin's view of them, over the in-memory service."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from usermgmt import (
    SYSTEM,
    InvalidTokenError,
    ManualClock,
    PermissionDeniedError,
    Principal,
    Role,
    SessionId,
    SessionNotFoundError,
    UserId,
    UserManagement,
    UserNotFoundError,
)
from usermgmt.domain.context import request_context
from usermgmt.domain.model import USER_AGENT_MAX_LENGTH
from usermgmt.events import RequestContext

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery"


async def _sign_in(um: UserManagement, email: str) -> tuple[Principal, str]:
    tokens = await um.authenticate(email, PASSWORD)
    return await um.validate_access_token(tokens.access_token), tokens.refresh_token


async def test_a_session_remembers_where_and_how_it_began(
    um: UserManagement, clock: ManualClock
) -> None:
    """Address and (truncated) user agent of the request, ``pwd``, and its start as last use."""
    await um.register_user("ann@example.org", PASSWORD)
    context = RequestContext(ip="198.51.100.7", user_agent="Firefox/130 " + "x" * 1000)

    with request_context(context):
        ann, _ = await _sign_in(um, "ann@example.org")

    (session,) = await um.list_own_sessions(ann)
    assert session.id == ann.session_id
    assert (session.ip, session.amr) == ("198.51.100.7", ("pwd",))
    assert session.user_agent == ("Firefox/130 " + "x" * 1000)[:USER_AGENT_MAX_LENGTH]
    assert session.last_used_at == session.created_at == clock.now()


async def test_outside_a_request_the_address_and_agent_are_unknown(um: UserManagement) -> None:
    """A sign-in from a script has no address or user agent: ``None``, not an empty string."""
    await um.register_user("ann@example.org", PASSWORD)

    ann, _ = await _sign_in(um, "ann@example.org")

    (session,) = await um.list_own_sessions(ann)
    assert (session.ip, session.user_agent) == (None, None)


async def test_a_refresh_marks_the_session_used_and_a_read_does_not(
    um: UserManagement, clock: ManualClock
) -> None:
    """last_used_at moves with a refresh only; validating an access token writes nothing."""
    await um.register_user("ann@example.org", PASSWORD)
    ann, refresh_token = await _sign_in(um, "ann@example.org")
    began = clock.now()

    clock.advance(timedelta(minutes=5))
    tokens = await um.refresh(refresh_token)
    refreshed = clock.now()
    clock.advance(timedelta(minutes=5))
    await um.validate_access_token(tokens.access_token)

    (session,) = await um.list_own_sessions(ann)
    assert (session.created_at, session.last_used_at) == (began, refreshed)


async def test_own_sessions_are_listed_newest_first_without_ended_ones(
    um: UserManagement, clock: ManualClock
) -> None:
    """Live sessions only, the latest sign-in first; another user's never appear."""
    await um.register_user("ann@example.org", PASSWORD)
    await um.register_user("bob@example.org", PASSWORD)
    first, _ = await _sign_in(um, "ann@example.org")
    clock.advance(timedelta(seconds=1))
    ended, _ = await _sign_in(um, "ann@example.org")
    clock.advance(timedelta(seconds=1))
    latest, _ = await _sign_in(um, "ann@example.org")
    await _sign_in(um, "bob@example.org")
    await um.logout(ended)

    listed = await um.list_own_sessions(latest)

    assert [s.id for s in listed] == [latest.session_id, first.session_id]


async def test_ending_a_session_refuses_its_tokens_and_another_users_is_not_found(
    um: UserManagement,
) -> None:
    """One's own session ends; another user's id, an ended or unknown one: SessionNotFoundError."""
    await um.register_user("ann@example.org", PASSWORD)
    await um.register_user("bob@example.org", PASSWORD)
    ann, _ = await _sign_in(um, "ann@example.org")
    phone, phone_refresh = await _sign_in(um, "ann@example.org")
    bob, _ = await _sign_in(um, "bob@example.org")

    await um.end_session(ann, phone.session_id)

    with pytest.raises(InvalidTokenError):
        await um.refresh(phone_refresh)
    for session_id in (bob.session_id, phone.session_id, SessionId(uuid.uuid4())):
        with pytest.raises(SessionNotFoundError):
            await um.end_session(ann, session_id)
    assert [s.id for s in await um.list_sessions(bob.user.id, actor=SYSTEM)] == [bob.session_id]


async def test_ending_the_other_sessions_keeps_the_current_one(um: UserManagement) -> None:
    """Every session but the caller's ends, and the count says how many."""
    await um.register_user("ann@example.org", PASSWORD)
    ann, _ = await _sign_in(um, "ann@example.org")
    for _ in range(3):
        await _sign_in(um, "ann@example.org")

    ended = await um.end_other_sessions(ann)

    assert ended == 3
    assert [s.id for s in await um.list_own_sessions(ann)] == [ann.session_id]


async def test_only_admins_list_or_end_a_users_sessions(um: UserManagement) -> None:
    """A plain user is refused, for their own id too; an admin and the operator may."""
    ann_user = await um.register_user("ann@example.org", PASSWORD)
    await um.register_user("root@example.org", PASSWORD, role=Role.ADMIN, actor=SYSTEM)
    ann, _ = await _sign_in(um, "ann@example.org")
    root, _ = await _sign_in(um, "root@example.org")

    for actor in (ann,):
        with pytest.raises(PermissionDeniedError):
            await um.list_sessions(ann_user.id, actor=actor)
        with pytest.raises(PermissionDeniedError):
            await um.revoke_sessions(ann_user.id, actor=actor)
    listed = await um.list_sessions(ann_user.id, actor=root)
    with pytest.raises(UserNotFoundError):
        await um.list_sessions(UserId(uuid.uuid4()), actor=SYSTEM)

    assert [s.id for s in listed] == [ann.session_id]


async def test_the_operator_ends_one_named_session(um: UserManagement) -> None:
    """revoke_sessions with a session id ends that one only; a wrong id is not found."""
    user = await um.register_user("ann@example.org", PASSWORD)
    await um.register_user("bob@example.org", PASSWORD)
    ann, _ = await _sign_in(um, "ann@example.org")
    other, _ = await _sign_in(um, "ann@example.org")
    bob, _ = await _sign_in(um, "bob@example.org")

    ended = await um.revoke_sessions(user.id, actor=SYSTEM, session_id=other.session_id)

    assert ended == 1
    assert [s.id for s in await um.list_own_sessions(ann)] == [ann.session_id]
    with pytest.raises(SessionNotFoundError):
        await um.revoke_sessions(user.id, actor=SYSTEM, session_id=bob.session_id)
