"""Signing in and out: login, throttling, refresh rotation, reuse detection, logout."""

from __future__ import annotations

from datetime import timedelta

import anyio
import argon2
import pytest

from tests.credentials_contract import stored_password
from usermgmt import (
    SYSTEM,
    InvalidCredentialsError,
    InvalidTokenError,
    LoginThrottledError,
    ManualClock,
    OverloadedError,
    RefreshTokenReusedError,
    Role,
    Settings,
    UserManagement,
    ValueTooLongError,
)
from usermgmt.adapters.passwords import Argon2PasswordHasher

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery"


async def test_login_works_with_any_letter_case_of_the_email(um: UserManagement) -> None:
    """The email matches case-insensitively at login."""
    await um.register_user("Ann@Example.org", PASSWORD)

    tokens = await um.authenticate("aNN@example.ORG", PASSWORD)

    principal = await um.validate_access_token(tokens.access_token)
    assert principal.user.email.value == "ann@example.org"
    assert tokens.token_type == "bearer"
    assert tokens.expires_in == 900


async def test_every_login_failure_looks_the_same(um: UserManagement) -> None:
    """Unknown email, wrong password, deleted and deactivated users get one identical error."""
    await um.register_user("ann@example.org", PASSWORD)
    gone = await um.register_user("gone@example.org", PASSWORD)
    await um.delete_user(gone.id, actor=SYSTEM)
    idle = await um.register_user("idle@example.org", PASSWORD)
    await um.update_user(idle.id, actor=SYSTEM, is_active=False)

    errors = []
    for email, password in [
        ("nobody@example.org", PASSWORD),
        ("ann@example.org", "wrong password"),
        ("gone@example.org", PASSWORD),
        ("idle@example.org", PASSWORD),
        ("not an email", PASSWORD),
    ]:
        with pytest.raises(InvalidCredentialsError) as caught:
            await um.authenticate(email, password)
        errors.append((type(caught.value), str(caught.value)))

    assert len(set(errors)) == 1


async def test_unknown_emails_cost_a_verification_too(settings: Settings) -> None:
    """A miss verifies against a dummy hash, so it takes as long as a wrong password."""
    calls: list[str | None] = []

    class CountingHasher(Argon2PasswordHasher):
        async def verify(self, password: str, password_hash: str | None) -> bool:
            calls.append(password_hash)
            return await super().verify(password, password_hash)

    hasher = CountingHasher(argon2.PasswordHasher.from_parameters(argon2.profiles.CHEAPEST))
    async with UserManagement.in_memory(settings, hasher=hasher) as um:
        with pytest.raises(InvalidCredentialsError):
            await um.authenticate("nobody@example.org", PASSWORD)

    assert calls == [None]


async def test_a_too_long_password_is_refused_before_hashing(um: UserManagement) -> None:
    """A 1025-character password at login is a 422-class error, not a slow hash."""
    with pytest.raises(ValueTooLongError):
        await um.authenticate("ann@example.org", "x" * 1025)


async def test_each_login_starts_a_new_session(um: UserManagement) -> None:
    """Two logins yield two sessions; ending one leaves the other."""
    await um.register_user("ann@example.org", PASSWORD)
    first = await um.validate_access_token(
        (await um.authenticate("ann@example.org", PASSWORD)).access_token
    )
    second_tokens = await um.authenticate("ann@example.org", PASSWORD)
    second = await um.validate_access_token(second_tokens.access_token)

    await um.logout(first)

    assert first.session_id != second.session_id
    assert (
        await um.validate_access_token(second_tokens.access_token)
    ).session_id == second.session_id


# --- throttling -----------------------------------------------------------------------------


async def _fail(
    um: UserManagement, times: int, *, email: str = "ann@example.org", client: str = "10.0.0.1"
) -> None:
    for _ in range(times):
        with pytest.raises(InvalidCredentialsError):
            await um.authenticate(email, "wrong password", client=client)


async def test_repeated_failures_throttle_even_the_right_password(um: UserManagement) -> None:
    """After five failures from one client, the next attempt is refused unverified."""
    await um.register_user("ann@example.org", PASSWORD)
    await _fail(um, 5)

    with pytest.raises(LoginThrottledError) as caught:
        await um.authenticate("ann@example.org", PASSWORD, client="10.0.0.1")

    assert caught.value.retry_after == 1


async def test_the_wait_grows_with_each_further_failure(
    um: UserManagement, clock: ManualClock
) -> None:
    """Each failure after the lock expires doubles the next wait."""
    await _fail(um, 5)
    waits = []
    for _ in range(3):
        with pytest.raises(LoginThrottledError) as caught:
            await um.authenticate("ann@example.org", "wrong password", client="10.0.0.1")
        waits.append(caught.value.retry_after)
        clock.advance(timedelta(seconds=caught.value.retry_after))
        await _fail(um, 1)

    assert waits == [1, 2, 4]


async def test_unknown_emails_are_throttled_like_known_ones(um: UserManagement) -> None:
    """A 429 reveals nothing: a non-existent account is throttled after the same failures."""
    await _fail(um, 5, email="nobody@example.org")

    with pytest.raises(LoginThrottledError):
        await um.authenticate("nobody@example.org", PASSWORD, client="10.0.0.1")


async def test_other_clients_are_not_locked_out_by_one(um: UserManagement) -> None:
    """An attacker's failures do not stop the owner logging in from elsewhere."""
    await um.register_user("ann@example.org", PASSWORD)
    await _fail(um, 5, client="203.0.113.9")

    tokens = await um.authenticate("ann@example.org", PASSWORD, client="10.0.0.1")

    assert tokens.access_token


async def test_the_account_ceiling_catches_spread_guessing(
    settings: Settings, clock: ManualClock
) -> None:
    """Failures from many clients add up to the per-account ceiling, then all get 429."""
    async with UserManagement.in_memory(
        settings.evolve(login_max_failures_per_account=10), clock=clock
    ) as um:
        await um.register_user("ann@example.org", PASSWORD)
        for n in range(10):
            await _fail(um, 1, client=f"198.51.100.{n}")

        with pytest.raises(LoginThrottledError):
            await um.authenticate("ann@example.org", PASSWORD, client="10.9.9.9")


async def test_a_success_clears_the_counters(um: UserManagement) -> None:
    """After a successful login, the failure count starts again from zero."""
    await um.register_user("ann@example.org", PASSWORD)
    await _fail(um, 4)
    await um.authenticate("ann@example.org", PASSWORD, client="10.0.0.1")

    await _fail(um, 4)

    assert await um.authenticate("ann@example.org", PASSWORD, client="10.0.0.1")


class CountingHasher(Argon2PasswordHasher):
    """The real argon2 hasher, counting the verifications it is asked for."""

    def __init__(self) -> None:
        super().__init__(argon2.PasswordHasher.from_parameters(argon2.profiles.CHEAPEST))
        self.verified: list[str] = []

    async def verify(self, password: str, password_hash: str | None) -> bool:
        self.verified.append(password)
        return await super().verify(password, password_hash)


class VerifySheddingHasher(CountingHasher):
    """Refuses the first *refusals* verifications at once, then verifies for real."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    async def verify(self, password: str, password_hash: str | None) -> bool:
        if self.refusals > 0:
            self.refusals -= 1
            raise OverloadedError(retry_after=1)
        return await super().verify(password, password_hash)


async def test_guesses_sent_at_once_are_verified_like_guesses_in_a_row(
    settings: Settings, clock: ManualClock
) -> None:
    """Forty guesses at once from one client: five verified, the right one later refused."""
    hasher = CountingHasher()
    outcomes: list[str] = []
    async with UserManagement.in_memory(settings, clock=clock, hasher=hasher) as um:
        await um.register_user("ann@example.org", PASSWORD)

        async def guess(n: int) -> None:
            password = PASSWORD if n == 20 else f"wrong guess {n}"
            try:
                await um.authenticate("ann@example.org", password, client="10.0.0.1")
            except LoginThrottledError:
                outcomes.append("throttled" if n != 20 else "right one throttled")
            except InvalidCredentialsError:
                outcomes.append("wrong")

        async with anyio.create_task_group() as tg:
            for n in range(40):
                tg.start_soon(guess, n)

    assert len(hasher.verified) == 5
    assert PASSWORD not in hasher.verified
    assert sorted(set(outcomes)) == ["right one throttled", "throttled", "wrong"]


async def test_an_attempt_the_hasher_refused_is_not_counted(
    settings: Settings, clock: ManualClock
) -> None:
    """Ten logins shed before any hashing leave the counters as they were."""
    hasher = VerifySheddingHasher(refusals=10)
    async with UserManagement.in_memory(settings, clock=clock, hasher=hasher) as um:
        await um.register_user("ann@example.org", PASSWORD)
        for _ in range(10):
            with pytest.raises(OverloadedError):
                await um.authenticate("ann@example.org", "wrong password", client="10.0.0.1")

        await _fail(um, 5)  # five real failures are still allowed, and lock
        with pytest.raises(LoginThrottledError) as caught:
            await um.authenticate("ann@example.org", PASSWORD, client="10.0.0.1")

    assert caught.value.retry_after == 1
    assert len(hasher.verified) == 5


async def test_a_password_change_clears_the_accounts_counters(
    settings: Settings, clock: ManualClock
) -> None:
    """Locked on its pair and its account, the owner signs in at once after a password change."""
    async with UserManagement.in_memory(
        settings.evolve(login_max_failures_per_account=8), clock=clock
    ) as um:
        user = await um.register_user("ann@example.org", PASSWORD)
        await _fail(um, 5)
        for n in range(3):
            await _fail(um, 1, client=f"198.51.100.{n}")
        with pytest.raises(LoginThrottledError):
            await um.authenticate("ann@example.org", PASSWORD, client="10.0.0.1")

        await um.change_password(user.id, "a brand new passphrase", actor=SYSTEM)

        assert await um.authenticate("ann@example.org", "a brand new passphrase", client="10.0.0.1")
        await _fail(um, 4)  # the pair starts again from zero too
        assert await um.authenticate("ann@example.org", "a brand new passphrase", client="10.0.0.1")


async def test_a_self_service_password_change_clears_the_counters_too(um: UserManagement) -> None:
    """The owner who proves the current password gets the same fresh start."""
    await um.register_user("ann@example.org", PASSWORD)
    me = await um.validate_access_token(
        (await um.authenticate("ann@example.org", PASSWORD, client="10.0.0.2")).access_token
    )
    await _fail(um, 5)

    await um.change_password(
        me.user.id, "a brand new passphrase", actor=me, current_password=PASSWORD
    )

    assert await um.authenticate("ann@example.org", "a brand new passphrase", client="10.0.0.1")


# --- refresh rotation and reuse detection ---------------------------------------------------


async def test_refresh_rotates_and_the_old_access_token_lives_on(um: UserManagement) -> None:
    """A refresh returns a new pair; the session's earlier access token stays valid."""
    await um.register_user("ann@example.org", PASSWORD)
    first = await um.authenticate("ann@example.org", PASSWORD)

    second = await um.refresh(first.refresh_token)

    assert second.refresh_token != first.refresh_token
    one = await um.validate_access_token(first.access_token)
    two = await um.validate_access_token(second.access_token)
    assert one.session_id == two.session_id


async def test_reuse_after_the_grace_window_revokes_the_session(
    um: UserManagement, clock: ManualClock
) -> None:
    """A spent refresh token replayed late kills the whole session, newest tokens too."""
    await um.register_user("ann@example.org", PASSWORD)
    first = await um.authenticate("ann@example.org", PASSWORD)
    second = await um.refresh(first.refresh_token)
    clock.advance(timedelta(seconds=11))

    with pytest.raises(RefreshTokenReusedError) as caught:
        await um.refresh(first.refresh_token)

    assert caught.value.session_revoked
    with pytest.raises(InvalidTokenError):
        await um.validate_access_token(second.access_token)
    with pytest.raises(InvalidTokenError):
        await um.refresh(second.refresh_token)


async def test_reuse_within_the_grace_window_spares_the_session(
    um: UserManagement, clock: ManualClock
) -> None:
    """A second tab refreshing at the same moment is refused, but the session lives."""
    await um.register_user("ann@example.org", PASSWORD)
    first = await um.authenticate("ann@example.org", PASSWORD)
    second = await um.refresh(first.refresh_token)
    clock.advance(timedelta(seconds=10))

    with pytest.raises(RefreshTokenReusedError) as caught:
        await um.refresh(first.refresh_token)

    assert not caught.value.session_revoked
    assert await um.refresh(second.refresh_token)


async def test_a_zero_grace_window_revokes_at_once(settings: Settings) -> None:
    """With the grace window off, any reuse revokes the session."""
    async with UserManagement.in_memory(settings.evolve(refresh_reuse_grace=0)) as um:
        await um.register_user("ann@example.org", PASSWORD)
        first = await um.authenticate("ann@example.org", PASSWORD)
        await um.refresh(first.refresh_token)

        with pytest.raises(RefreshTokenReusedError) as caught:
            await um.refresh(first.refresh_token)

    assert caught.value.session_revoked


async def test_a_session_ends_at_its_absolute_lifetime(
    um: UserManagement, clock: ManualClock
) -> None:
    """Refreshing does not extend a session past 30 days from login."""
    await um.register_user("ann@example.org", PASSWORD)
    tokens = await um.authenticate("ann@example.org", PASSWORD)
    for _ in range(29):
        clock.advance(timedelta(days=1))
        tokens = await um.refresh(tokens.refresh_token)
    clock.advance(timedelta(days=1))

    with pytest.raises(InvalidTokenError):
        await um.refresh(tokens.refresh_token)


async def test_unknown_refresh_tokens_are_refused(um: UserManagement) -> None:
    """A token that was never issued (or an access token) is refused plainly."""
    await um.register_user("ann@example.org", PASSWORD)
    tokens = await um.authenticate("ann@example.org", PASSWORD)

    for bogus in ["nope", tokens.access_token]:
        with pytest.raises(InvalidTokenError) as caught:
            await um.refresh(bogus)
        assert not isinstance(caught.value, RefreshTokenReusedError)


async def test_a_token_no_client_could_send_is_refused_like_any_unknown_one(
    um: UserManagement,
) -> None:
    """Library callers can pass a lone surrogate: it is an unknown token, not a crash."""
    await um.register_user("ann@example.org", PASSWORD)

    with pytest.raises(InvalidTokenError):
        await um.refresh("\ud800" * 43)
    tokens = await um.authenticate("ann@example.org", PASSWORD, device_token="\udfff")
    assert tokens.device_token


async def test_refresh_is_refused_for_a_deactivated_user(um: UserManagement) -> None:
    """Deactivation ends the sessions, so their refresh tokens no longer work."""
    user = await um.register_user("ann@example.org", PASSWORD)
    tokens = await um.authenticate("ann@example.org", PASSWORD)

    await um.update_user(user.id, actor=SYSTEM, is_active=False)

    with pytest.raises(InvalidTokenError):
        await um.refresh(tokens.refresh_token)


# --- access tokens and logout ----------------------------------------------------------------


async def test_access_tokens_expire(um: UserManagement, clock: ManualClock) -> None:
    """An access token is refused once its 15 minutes are over."""
    await um.register_user("ann@example.org", PASSWORD)
    tokens = await um.authenticate("ann@example.org", PASSWORD)
    clock.advance(timedelta(minutes=15))

    with pytest.raises(InvalidTokenError):
        await um.validate_access_token(tokens.access_token)


async def test_logout_revokes_access_and_refresh_tokens(um: UserManagement) -> None:
    """After logout neither token of the session works."""
    await um.register_user("ann@example.org", PASSWORD)
    tokens = await um.authenticate("ann@example.org", PASSWORD)

    await um.logout(await um.validate_access_token(tokens.access_token))

    with pytest.raises(InvalidTokenError):
        await um.validate_access_token(tokens.access_token)
    with pytest.raises(InvalidTokenError):
        await um.refresh(tokens.refresh_token)


async def test_logout_of_all_sessions_ends_every_session(um: UserManagement) -> None:
    """all_sessions ends the user's other sessions too."""
    await um.register_user("ann@example.org", PASSWORD)
    here = await um.authenticate("ann@example.org", PASSWORD)
    there = await um.authenticate("ann@example.org", PASSWORD)

    await um.logout(await um.validate_access_token(here.access_token), all_sessions=True)

    for token in (here.access_token, there.access_token):
        with pytest.raises(InvalidTokenError):
            await um.validate_access_token(token)


async def test_a_role_change_applies_to_tokens_already_issued(um: UserManagement) -> None:
    """The role that decides comes from storage, not from the token's claim."""
    user = await um.register_user("ann@example.org", PASSWORD)
    tokens = await um.authenticate("ann@example.org", PASSWORD)

    await um.update_user(user.id, actor=SYSTEM, role=Role.ADMIN)

    principal = await um.validate_access_token(tokens.access_token)
    assert principal.user.is_admin


class SheddingHasher(Argon2PasswordHasher):
    """The real hasher, told to refuse new hashes (verifications still run), like a full queue."""

    def __init__(self) -> None:
        super().__init__(argon2.PasswordHasher.from_parameters(argon2.profiles.CHEAPEST))
        self.shedding = False
        self.outdated = False

    async def hash(self, password: str) -> str:
        if self.shedding:
            raise OverloadedError(retry_after=2)
        return await super().hash(password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self.outdated or super().needs_rehash(password_hash)


async def test_a_login_whose_hash_upgrade_is_shed_still_succeeds(settings: Settings) -> None:
    """Under load the upgrade of an outdated hash waits for a later login; this one goes in."""
    hasher = SheddingHasher()
    async with UserManagement.in_memory(settings, hasher=hasher) as um:
        user = await um.register_user("ann@example.org", PASSWORD)
        registered = await stored_password(um, user.id)
        hasher.shedding = hasher.outdated = True

        tokens = await um.authenticate("ann@example.org", PASSWORD)

        stored = await stored_password(um, user.id)
    assert tokens.access_token
    assert stored.password_hash == registered.password_hash


async def test_registration_and_password_change_are_refused_whole_when_shed(
    settings: Settings,
) -> None:
    """A shed registration creates nobody; a shed password change keeps the old password."""
    hasher = SheddingHasher()
    async with UserManagement.in_memory(settings, hasher=hasher) as um:
        ann = await um.register_user("ann@example.org", PASSWORD)
        hasher.shedding = True

        with pytest.raises(OverloadedError):
            await um.register_user("bob@example.org", PASSWORD)
        with pytest.raises(OverloadedError):
            await um.change_password(ann.id, "a brand new passphrase", actor=SYSTEM)

        hasher.shedding = False
        assert (await um.authenticate("ann@example.org", PASSWORD)).access_token
        with pytest.raises(InvalidCredentialsError):
            await um.authenticate("bob@example.org", PASSWORD)


async def test_a_shed_login_is_refused_before_any_work_and_counts_for_nothing(
    settings: Settings,
) -> None:
    """Refused at once: no verification, no failure counted, so no throttle afterwards."""
    verified: list[str | None] = []

    class Full(SheddingHasher):
        def check_capacity(self) -> None:
            if self.shedding:
                raise OverloadedError(retry_after=3)

        async def verify(self, password: str, password_hash: str | None) -> bool:
            verified.append(password_hash)
            return await super().verify(password, password_hash)

    hasher = Full()
    async with UserManagement.in_memory(settings, hasher=hasher) as um:
        await um.register_user("ann@example.org", PASSWORD)
        hasher.shedding = True
        for _ in range(10):
            with pytest.raises(OverloadedError) as refused:
                await um.authenticate("ann@example.org", "wrong password")
            assert refused.value.retry_after == 3
        hasher.shedding = False

        tokens = await um.authenticate("ann@example.org", PASSWORD)

    assert tokens.access_token
    assert len(verified) == 1  # only the login after the flood
