"""Device tokens: the owner of an account is not locked out by guessing from many clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from usermgmt import (
    SYSTEM,
    InvalidCredentialsError,
    LoginThrottledError,
    ManualClock,
    Settings,
    UserManagement,
)

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery"
CEILING = 10


@pytest.fixture
async def um(settings: Settings, clock: ManualClock) -> AsyncIterator[UserManagement]:
    """An in-memory service whose per-account ceiling is quick to reach."""
    async with UserManagement.in_memory(
        settings.evolve(login_max_failures_per_account=CEILING), clock=clock
    ) as service:
        yield service


async def _trip_the_ceiling(um: UserManagement, email: str = "ann@example.org") -> None:
    """Guess from as many clients as the ceiling needs, one guess each."""
    for n in range(CEILING):
        with pytest.raises(InvalidCredentialsError):
            await um.authenticate(email, "wrong password", client=f"198.51.100.{n}")


async def test_a_login_returns_a_device_token(um: UserManagement) -> None:
    """Every login hands out a fresh, opaque device token of 256 bits."""
    await um.register_user("ann@example.org", PASSWORD)

    first = await um.authenticate("ann@example.org", PASSWORD)
    second = await um.authenticate("ann@example.org", PASSWORD)

    assert first.device_token is not None
    assert second.device_token is not None
    assert first.device_token != second.device_token
    assert len(first.device_token) >= 43  # URL-safe base64 of 32 bytes
    assert "device_token" not in repr(first)


async def test_refresh_hands_out_no_device_token(um: UserManagement) -> None:
    """Only a login, where the password was proven, vouches for a device."""
    await um.register_user("ann@example.org", PASSWORD)
    tokens = await um.authenticate("ann@example.org", PASSWORD)

    assert (await um.refresh(tokens.refresh_token)).device_token is None


async def test_the_owner_with_a_device_token_signs_in_past_a_tripped_ceiling(
    um: UserManagement,
) -> None:
    """Guessing from many clients locks out new devices, not the owner's own."""
    await um.register_user("ann@example.org", PASSWORD)
    device = (await um.authenticate("ann@example.org", PASSWORD, client="10.0.0.1")).device_token
    await _trip_the_ceiling(um)

    with pytest.raises(LoginThrottledError):
        await um.authenticate("ann@example.org", PASSWORD, client="10.0.0.1")
    tokens = await um.authenticate(
        "ann@example.org", PASSWORD, client="10.0.0.1", device_token=device
    )

    assert tokens.access_token


async def test_the_exemption_holds_from_another_network_too(um: UserManagement) -> None:
    """The token, not the address, is what the device proves: a laptop moves."""
    await um.register_user("ann@example.org", PASSWORD)
    device = (await um.authenticate("ann@example.org", PASSWORD, client="10.0.0.1")).device_token
    await _trip_the_ceiling(um)

    tokens = await um.authenticate(
        "ann@example.org", PASSWORD, client="2001:db8::7", device_token=device
    )

    assert tokens.access_token


async def test_a_presented_device_token_is_spent_for_a_fresh_one(um: UserManagement) -> None:
    """The token presented at a login no longer exempts; its successor does."""
    await um.register_user("ann@example.org", PASSWORD)
    old = (await um.authenticate("ann@example.org", PASSWORD)).device_token
    new = (await um.authenticate("ann@example.org", PASSWORD, device_token=old)).device_token
    await _trip_the_ceiling(um)

    with pytest.raises(LoginThrottledError):
        await um.authenticate("ann@example.org", PASSWORD, device_token=old)
    assert await um.authenticate("ann@example.org", PASSWORD, device_token=new)


async def test_another_users_device_token_does_not_exempt(um: UserManagement) -> None:
    """A token vouches for its own user's devices only."""
    await um.register_user("ann@example.org", PASSWORD)
    await um.register_user("bob@example.org", PASSWORD)
    bobs = (await um.authenticate("bob@example.org", PASSWORD)).device_token
    await _trip_the_ceiling(um)

    with pytest.raises(LoginThrottledError):
        await um.authenticate("ann@example.org", PASSWORD, device_token=bobs)


async def test_a_device_token_expires_with_the_refresh_token_lifetime(
    um: UserManagement, clock: ManualClock
) -> None:
    """After 30 days the device counts as new again."""
    await um.register_user("ann@example.org", PASSWORD)
    device = (await um.authenticate("ann@example.org", PASSWORD)).device_token
    clock.advance(timedelta(seconds=um.settings.refresh_token_ttl))
    await _trip_the_ceiling(um)

    with pytest.raises(LoginThrottledError):
        await um.authenticate("ann@example.org", PASSWORD, device_token=device)


async def test_a_deleted_users_device_token_does_not_exempt(um: UserManagement) -> None:
    """After deletion, the token is worthless, even for a new account on the same address."""
    gone = await um.register_user("ann@example.org", PASSWORD)
    device = (await um.authenticate("ann@example.org", PASSWORD)).device_token
    await um.delete_user(gone.id, actor=SYSTEM)
    await um.register_user("ann@example.org", PASSWORD)
    await _trip_the_ceiling(um)

    with pytest.raises(LoginThrottledError):
        await um.authenticate("ann@example.org", PASSWORD, device_token=device)


async def test_a_restored_users_old_device_token_stays_worthless(um: UserManagement) -> None:
    """Deletion forgets the devices, as it ends the sessions: a restore brings neither back."""
    user = await um.register_user("ann@example.org", PASSWORD)
    device = (await um.authenticate("ann@example.org", PASSWORD)).device_token
    await um.delete_user(user.id, actor=SYSTEM)
    await um.restore_user(user.id, actor=SYSTEM)
    await _trip_the_ceiling(um)

    with pytest.raises(LoginThrottledError):
        await um.authenticate("ann@example.org", PASSWORD, device_token=device)


async def test_a_deactivated_users_device_token_is_worthless(um: UserManagement) -> None:
    """Deactivation forgets the devices; reactivation does not bring them back."""
    user = await um.register_user("ann@example.org", PASSWORD)
    device = (await um.authenticate("ann@example.org", PASSWORD)).device_token
    await um.update_user(user.id, actor=SYSTEM, is_active=False)
    await _trip_the_ceiling(um)

    with pytest.raises(LoginThrottledError):  # a 429 like any device: nothing revealed
        await um.authenticate("ann@example.org", PASSWORD, device_token=device)
    await um.update_user(user.id, actor=SYSTEM, is_active=True)
    with pytest.raises(LoginThrottledError):
        await um.authenticate("ann@example.org", PASSWORD, device_token=device)


async def test_a_password_change_keeps_the_owners_devices(um: UserManagement) -> None:
    """An owner who changes the password under attack still signs in from a known device."""
    user = await um.register_user("ann@example.org", PASSWORD)
    device = (await um.authenticate("ann@example.org", PASSWORD)).device_token
    await um.change_password(user.id, "a brand new passphrase", actor=SYSTEM)
    await _trip_the_ceiling(um)

    tokens = await um.authenticate("ann@example.org", "a brand new passphrase", device_token=device)

    assert tokens.device_token is not None


async def test_a_device_token_is_throttled_like_one_client(um: UserManagement) -> None:
    """A stolen token guessing from many addresses gets five failures, then the ceiling."""
    await um.register_user("ann@example.org", PASSWORD)
    stolen = (await um.authenticate("ann@example.org", PASSWORD)).device_token
    await _trip_the_ceiling(um)
    for n in range(5):
        with pytest.raises(InvalidCredentialsError):
            await um.authenticate(
                "ann@example.org", "wrong", client=f"203.0.113.{n}", device_token=stolen
            )

    with pytest.raises(LoginThrottledError):  # worthless now: back under the ceiling
        await um.authenticate(
            "ann@example.org", PASSWORD, client="203.0.113.99", device_token=stolen
        )


async def test_a_locked_device_token_falls_back_to_the_account(um: UserManagement) -> None:
    """Once its own counter locks, a token is no worse than none: the account still admits."""
    await um.register_user("ann@example.org", PASSWORD)
    device = (await um.authenticate("ann@example.org", PASSWORD)).device_token
    for n in range(5):
        with pytest.raises(InvalidCredentialsError):
            await um.authenticate(
                "ann@example.org", "wrong", client=f"203.0.113.{n}", device_token=device
            )

    tokens = await um.authenticate(
        "ann@example.org", PASSWORD, client="10.0.0.1", device_token=device
    )

    assert tokens.access_token


async def test_an_unknown_email_with_a_device_token_is_throttled_like_without(
    um: UserManagement,
) -> None:
    """A token presented for an address with no account changes nothing: no oracle."""
    await um.register_user("ann@example.org", PASSWORD)
    device = (await um.authenticate("ann@example.org", PASSWORD)).device_token
    await _trip_the_ceiling(um, "nobody@example.org")

    with pytest.raises(LoginThrottledError):
        await um.authenticate("nobody@example.org", PASSWORD, device_token=device)
