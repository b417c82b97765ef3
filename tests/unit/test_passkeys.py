"""Passkeys through the facade over memory, with the virtual authenticator: the use cases' rules."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.authenticator import VirtualAuthenticator
from usermgmt import (
    CurrentPasswordRequiredError,
    InvalidCredentialsError,
    ManualClock,
    PasskeyNotFoundError,
    PasskeyRejectedError,
    Principal,
    UserManagement,
    ValidationError,
    WrongPasswordError,
)
from usermgmt.domain.passkeys import (
    CEREMONY_LIFETIME,
    DEFAULT_PASSKEY_NAME,
    clean_passkey_name,
    counter_accepts,
)

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery"


async def _ann(um: UserManagement) -> Principal:
    await um.register_user("ann@example.org", PASSWORD)
    tokens = await um.authenticate("ann@example.org", PASSWORD)
    return await um.validate_access_token(tokens.access_token)


async def _enrol(um: UserManagement, ann: Principal, passkey: VirtualAuthenticator) -> None:
    begun = await um.begin_passkey_registration(ann, PASSWORD)
    credential = passkey.create(dict(begun.options))
    await um.finish_passkey_registration(ann, begun.ceremony_id, dict(credential), "Laptop")


def test_a_counter_must_grow_unless_it_never_counted() -> None:
    """0 then 0 is a synced passkey; otherwise only a larger counter follows."""
    assert counter_accepts(0, 0)
    assert counter_accepts(0, 1)
    assert counter_accepts(4, 5)
    assert not counter_accepts(5, 5)
    assert not counter_accepts(5, 4)
    assert not counter_accepts(5, 0)


def test_a_passkey_name_is_trimmed_defaulted_and_bounded() -> None:
    """No name is the default one; a name too long or with control characters is refused."""
    assert clean_passkey_name(None) == DEFAULT_PASSKEY_NAME
    assert clean_passkey_name("  ") == DEFAULT_PASSKEY_NAME
    assert clean_passkey_name(" Phone ") == "Phone"
    with pytest.raises(ValidationError):
        clean_passkey_name("x" * 65)
    with pytest.raises(ValidationError):
        clean_passkey_name("a\nb")


async def test_a_registered_passkey_signs_in_with_hwk(um: UserManagement) -> None:
    """Register, list, sign in: the session says how (``hwk``) and the passkey was used."""
    ann = await _ann(um)
    passkey = VirtualAuthenticator()
    await _enrol(um, ann, passkey)

    begun = await um.begin_passkey_login()
    tokens = await um.passkey_login(begun.ceremony_id, dict(passkey.get(dict(begun.options))))

    me = await um.validate_access_token(tokens.access_token)
    assert me.user.id == ann.user.id
    (session,) = [s for s in await um.list_own_sessions(me) if s.id == me.session_id]
    assert session.amr == ("hwk",)
    (listed,) = await um.list_passkeys(me)
    assert (listed.name, listed.sign_count, listed.last_used_at is not None) == ("Laptop", 1, True)


async def test_registration_needs_the_current_password(um: UserManagement) -> None:
    """Missing: 422; wrong: 403; and removal likewise."""
    ann = await _ann(um)
    with pytest.raises(CurrentPasswordRequiredError):
        await um.begin_passkey_registration(ann, None)
    with pytest.raises(WrongPasswordError):
        await um.begin_passkey_registration(ann, "wrong password")
    await _enrol(um, ann, VirtualAuthenticator())
    (listed,) = await um.list_passkeys(ann)
    with pytest.raises(WrongPasswordError):
        await um.remove_passkey(ann, listed.id, "wrong password")
    await um.remove_passkey(ann, listed.id, PASSWORD)
    with pytest.raises(PasskeyNotFoundError):
        await um.remove_passkey(ann, listed.id, PASSWORD)


async def test_a_registration_ceremony_is_spent_once_and_expires(
    um: UserManagement, clock: ManualClock
) -> None:
    """A replayed response and a late one are refused on ``ceremony_id``."""
    ann = await _ann(um)
    passkey = VirtualAuthenticator()
    begun = await um.begin_passkey_registration(ann, PASSWORD)
    credential = dict(passkey.create(dict(begun.options)))
    await um.finish_passkey_registration(ann, begun.ceremony_id, credential)
    with pytest.raises(PasskeyRejectedError) as replayed:
        await um.finish_passkey_registration(ann, begun.ceremony_id, credential)
    assert replayed.value.field == "ceremony_id"

    late = await um.begin_passkey_registration(ann, PASSWORD)
    credential = dict(VirtualAuthenticator().create(dict(late.options)))
    clock.advance(CEREMONY_LIFETIME + timedelta(seconds=1))
    with pytest.raises(PasskeyRejectedError):
        await um.finish_passkey_registration(ann, late.ceremony_id, credential)


async def test_a_counter_that_goes_back_is_refused(um: UserManagement) -> None:
    """A cloned authenticator's lower counter signs nobody in."""
    ann = await _ann(um)
    passkey = VirtualAuthenticator()
    await _enrol(um, ann, passkey)
    begun = await um.begin_passkey_login()
    await um.passkey_login(begun.ceremony_id, dict(passkey.get(dict(begun.options))))

    begun = await um.begin_passkey_login()
    assertion = passkey.get(dict(begun.options), sign_count=1)
    with pytest.raises(InvalidCredentialsError):
        await um.passkey_login(begun.ceremony_id, dict(assertion))


def test_the_blocking_facade_registers_and_signs_in_with_a_passkey() -> None:
    """The same use cases from synchronous code."""
    passkey = VirtualAuthenticator()
    with UserManagement.in_memory().blocking() as um:
        um.register_user("bob@example.org", PASSWORD)
        bob = um.validate_access_token(um.authenticate("bob@example.org", PASSWORD).access_token)
        begun = um.begin_passkey_registration(bob, PASSWORD)
        credential = passkey.create(dict(begun.options))
        added = um.finish_passkey_registration(bob, begun.ceremony_id, dict(credential))

        login = um.begin_passkey_login()
        tokens = um.passkey_login(login.ceremony_id, dict(passkey.get(dict(login.options))))

        assert um.validate_access_token(tokens.access_token).user.id == bob.user.id
        assert [p.id for p in um.list_passkeys(bob)] == [added.id]
        um.remove_passkey(bob, added.id, PASSWORD)
        assert um.list_passkeys(bob) == ()
