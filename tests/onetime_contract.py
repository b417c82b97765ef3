"""The contract of the one-time token store, run against every adapter."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest

from tests.contracts import NOW, add_user, make_user
from usermgmt.domain.model import User
from usermgmt.domain.onetime import IssueQuota, OneTimeToken, Purpose, hash_one_time_token
from usermgmt.ports import UnitOfWork

HOUR = timedelta(hours=1)


async def issue(
    uow: UnitOfWork,
    user: User,
    purpose: Purpose = Purpose.RESET_PASSWORD,
    *,
    lifetime: timedelta = HOUR,
    data: dict[str, str] | None = None,
) -> tuple[str, OneTimeToken]:
    """Issue a token of *purpose* to *user* in its own transaction."""
    token, stored = OneTimeToken.issue(
        user_id=user.id, purpose=purpose, now=NOW, lifetime=lifetime, data=data
    )
    async with uow() as tx:
        await tx.one_time_tokens.issue(stored)
    return token, stored


async def spend(
    uow: UnitOfWork,
    token: str,
    purpose: Purpose = Purpose.RESET_PASSWORD,
    *,
    at: timedelta = HOUR / 2,
) -> OneTimeToken | None:
    """Spend *token* in its own transaction, *at* after the tokens were issued."""
    async with uow() as tx:
        return await tx.one_time_tokens.spend(hash_one_time_token(token), purpose, NOW + at)


class OneTimeTokenStoreContract:
    """What every ``OneTimeTokenStore`` must do."""

    @pytest.fixture
    def uow(self) -> UnitOfWork:
        raise NotImplementedError

    async def test_a_token_is_spent_once_and_returns_what_it_carries(self, uow: UnitOfWork) -> None:
        """The first spend returns the stored token with its data; the second finds nothing."""
        user = await add_user(uow, make_user())
        token, stored = await issue(
            uow, user, Purpose.CHANGE_EMAIL, data={"email": "new@example.org"}
        )

        first = await spend(uow, token, Purpose.CHANGE_EMAIL)
        second = await spend(uow, token, Purpose.CHANGE_EMAIL)

        assert first == stored
        assert first is not None
        assert first.data == {"email": "new@example.org"}
        assert second is None

    async def test_a_token_is_refused_for_another_purpose_and_stays_usable(
        self, uow: UnitOfWork
    ) -> None:
        """A reset token presented as a verification token is refused, and left unspent."""
        user = await add_user(uow, make_user())
        token, stored = await issue(uow, user, Purpose.RESET_PASSWORD)

        assert await spend(uow, token, Purpose.VERIFY_EMAIL) is None
        assert await spend(uow, token, Purpose.RESET_PASSWORD) == stored

    async def test_a_token_is_void_at_its_expiry(self, uow: UnitOfWork) -> None:
        """At the end of its lifetime the token is refused."""
        user = await add_user(uow, make_user())
        token, _ = await issue(uow, user, lifetime=HOUR)

        assert await spend(uow, token, at=HOUR) is None

    async def test_an_unknown_token_is_refused(self, uow: UnitOfWork) -> None:
        """A digest nobody was given finds nothing."""
        await add_user(uow, make_user())
        assert await spend(uow, "never issued") is None

    async def test_a_newer_token_voids_the_older_of_its_purpose_only(self, uow: UnitOfWork) -> None:
        """Issuing again replaces the user's token of that purpose; nothing else."""
        ann = await add_user(uow, make_user())
        bob = await add_user(uow, make_user("bob@example.org"))
        old, _ = await issue(uow, ann, Purpose.RESET_PASSWORD)
        verify, verify_stored = await issue(uow, ann, Purpose.VERIFY_EMAIL)
        bobs, bobs_stored = await issue(uow, bob, Purpose.RESET_PASSWORD)
        new, new_stored = await issue(uow, ann, Purpose.RESET_PASSWORD)

        assert await spend(uow, old) is None
        assert await spend(uow, new) == new_stored
        assert await spend(uow, verify, Purpose.VERIFY_EMAIL) == verify_stored
        assert await spend(uow, bobs) == bobs_stored

    async def test_void_forgets_the_users_tokens_of_the_purposes_named(
        self, uow: UnitOfWork
    ) -> None:
        """Voiding named purposes keeps the others; voiding all keeps only other users'."""
        ann = await add_user(uow, make_user())
        bob = await add_user(uow, make_user("bob@example.org"))
        reset, _ = await issue(uow, ann, Purpose.RESET_PASSWORD)
        verify, _ = await issue(uow, ann, Purpose.VERIFY_EMAIL)
        change, _ = await issue(uow, ann, Purpose.CHANGE_EMAIL)
        bobs, bobs_stored = await issue(uow, bob, Purpose.RESET_PASSWORD)

        async with uow() as tx:
            named = await tx.one_time_tokens.void(ann.id, [Purpose.VERIFY_EMAIL])
        async with uow() as tx:
            rest = await tx.one_time_tokens.void(ann.id)

        assert (named, rest) == (1, 2)
        assert await spend(uow, reset) is None
        assert await spend(uow, verify, Purpose.VERIFY_EMAIL) is None
        assert await spend(uow, change, Purpose.CHANGE_EMAIL) is None
        assert await spend(uow, bobs) == bobs_stored

    async def test_a_rolled_back_spend_leaves_the_token_usable(self, uow: UnitOfWork) -> None:
        """A spend in a transaction that fails is undone with it."""
        user = await add_user(uow, make_user())
        token, stored = await issue(uow, user)

        with pytest.raises(RuntimeError):  # noqa: PT012 - the transaction is the unit under test
            async with uow() as tx:
                assert await tx.one_time_tokens.spend(
                    hash_one_time_token(token), Purpose.RESET_PASSWORD, NOW
                )
                raise RuntimeError

        assert await spend(uow, token) == stored

    async def test_of_parallel_spends_exactly_one_succeeds(self, uow: UnitOfWork) -> None:
        """Twenty spends of one token at once: one gets the token, nineteen get nothing."""
        user = await add_user(uow, make_user())
        token, _ = await issue(uow, user)
        results: list[OneTimeToken | None] = []

        async def one() -> None:
            results.append(await spend(uow, token))

        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(one)

        assert sum(result is not None for result in results) == 1

    async def test_purge_forgets_expired_tokens(self, uow: UnitOfWork) -> None:
        """Tokens that expired before the cut-off are deleted and counted; live ones stay."""
        ann = await add_user(uow, make_user())
        bob = await add_user(uow, make_user("bob@example.org"))
        await issue(uow, ann, lifetime=timedelta(minutes=5))
        live, live_stored = await issue(uow, bob, lifetime=timedelta(days=2))

        async with uow() as tx:
            purged = await tx.one_time_tokens.purge(NOW + timedelta(days=1))

        assert purged == 1
        assert await spend(uow, live) == live_stored

    async def test_find_returns_a_live_token_and_leaves_it_unspent(self, uow: UnitOfWork) -> None:
        """Looking a token up spends nothing; another purpose or its expiry finds nothing."""
        user = await add_user(uow, make_user())
        token, stored = await issue(uow, user, lifetime=HOUR)
        digest = hash_one_time_token(token)

        async with uow() as tx:
            found = await tx.one_time_tokens.find(digest, Purpose.RESET_PASSWORD, NOW)
            other = await tx.one_time_tokens.find(digest, Purpose.VERIFY_EMAIL, NOW)
            expired = await tx.one_time_tokens.find(digest, Purpose.RESET_PASSWORD, NOW + HOUR)

        assert (found, other, expired) == (stored, None, None)
        assert await spend(uow, token) == stored

    async def test_the_quota_allows_one_a_minute_and_five_an_hour(self, uow: UnitOfWork) -> None:
        """A second token within a minute is refused (the first stays); so is a sixth in an hour."""
        user = await add_user(uow, make_user())
        quota = IssueQuota()

        async def issue_at(minutes: float) -> tuple[bool, str]:
            token, stored = OneTimeToken.issue(
                user_id=user.id,
                purpose=Purpose.VERIFY_EMAIL,
                now=NOW + timedelta(minutes=minutes),
                lifetime=timedelta(days=1),
            )
            async with uow() as tx:
                return await tx.one_time_tokens.issue(stored, quota=quota), token

        first = await issue_at(0)
        too_soon = await issue_at(0.5)
        async with uow() as tx:
            digest = hash_one_time_token(first[1])
            assert await tx.one_time_tokens.find(digest, Purpose.VERIFY_EMAIL, NOW)
        later = [await issue_at(minute) for minute in (1, 2, 3, 4)]
        sixth = await issue_at(5)
        next_hour = await issue_at(61)

        assert first[0]
        assert not too_soon[0]
        assert [issued for issued, _ in later] == [True] * 4
        assert not sixth[0]
        assert next_hour[0]
        for _, token in (first, too_soon, *later, sixth):
            assert await spend(uow, token, Purpose.VERIFY_EMAIL, at=timedelta(hours=2)) is None
        assert await spend(uow, next_hour[1], Purpose.VERIFY_EMAIL, at=timedelta(hours=2))

    async def test_the_quota_counts_each_user_and_purpose_apart(self, uow: UnitOfWork) -> None:
        """One user's reset does not use up another's, nor the same user's verification."""
        ann = await add_user(uow, make_user())
        bob = await add_user(uow, make_user("bob@example.org"))
        results = []
        for user, purpose in (
            (ann, Purpose.RESET_PASSWORD),
            (bob, Purpose.RESET_PASSWORD),
            (ann, Purpose.VERIFY_EMAIL),
        ):
            _, stored = OneTimeToken.issue(user_id=user.id, purpose=purpose, now=NOW, lifetime=HOUR)
            async with uow() as tx:
                results.append(await tx.one_time_tokens.issue(stored, quota=IssueQuota()))

        assert results == [True, True, True]
