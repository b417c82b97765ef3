"""Contract suites for the storage ports, run against every adapter.

A subclass provides the ``uow`` (or ``attempts``) fixture; the in-memory
subclasses live in ``tests/unit/``, the PostgreSQL and Redis ones in
``tests/integration/``. Same tests, same expectations.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import anyio
import pytest

from usermgmt import EmailTakenError, Role
from usermgmt.domain.model import (
    Email,
    RefreshToken,
    Session,
    SessionId,
    User,
    UserId,
    hash_refresh_token,
)
from usermgmt.domain.policy import FailureRecord, ListPosition, ThrottleKeys
from usermgmt.ports import LoginAttemptStore, UnitOfWork

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make_user(
    email: str = "ann@example.org",
    *,
    role: Role = Role.USER,
    created_at: datetime = NOW,
    is_active: bool = True,
) -> User:
    """Return a new user with a fresh id."""
    user = User.register(
        id=UserId(uuid.uuid4()),
        email=Email.parse(email),
        name="Ann",
        password_hash="$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
        now=created_at,
        role=role,
    )
    return user if is_active else user.changed(now=created_at, is_active=False)


def make_session(
    user: User, *, now: datetime = NOW, lifetime: timedelta = timedelta(days=30)
) -> Session:
    """Return a new session of *user*."""
    return Session.start(id=SessionId(uuid.uuid4()), user_id=user.id, now=now, lifetime=lifetime)


def make_token(session: Session, secret: str | None = None, *, now: datetime = NOW) -> RefreshToken:
    """Return the stored form of a refresh token of *session*."""
    return RefreshToken(
        token_hash=hash_refresh_token(secret or uuid.uuid4().hex),
        session_id=session.id,
        issued_at=now,
    )


async def add_user(uow: UnitOfWork, user: User) -> User:
    """Store *user* in its own transaction and return it."""
    async with uow() as tx:
        await tx.users.add(user)
    return user


async def add_session(
    uow: UnitOfWork, user: User, **options: datetime | timedelta
) -> tuple[Session, RefreshToken]:
    """Start a session of *user* with a first refresh token."""
    session = make_session(user, **options)  # type: ignore[arg-type]  # keyword pass-through
    token = make_token(session)
    async with uow() as tx:
        await tx.sessions.add(session, token)
    return session, token


class UserRepositoryContract:
    """What every ``UserRepository`` (with its unit of work) must do."""

    @pytest.fixture
    def uow(self) -> UnitOfWork:
        raise NotImplementedError

    async def test_a_stored_user_reads_back_equal(self, uow: UnitOfWork) -> None:
        """What is added comes back field for field, by id and by email."""
        user = await add_user(uow, make_user())

        async with uow.standalone() as repos:
            by_id = await repos.users.get(user.id)
            by_email = await repos.users.get_by_email(Email.parse("ANN@example.org"))

        assert by_id == user
        assert by_email == user

    async def test_emails_are_unique_ignoring_case(self, uow: UnitOfWork) -> None:
        """A second user whose email differs only in case is refused."""
        await add_user(uow, make_user(email="Ann@Example.org"))

        with pytest.raises(EmailTakenError):
            await add_user(uow, make_user(email="ann@example.ORG"))

    async def test_a_failed_transaction_leaves_nothing_behind(self, uow: UnitOfWork) -> None:
        """Everything a transaction wrote is undone when it raises."""
        first = make_user(email="first@example.org")

        with pytest.raises(EmailTakenError):  # noqa: PT012 - the transaction is the unit under test
            async with uow() as tx:
                await tx.users.add(first)
                await tx.users.add(make_user(email="FIRST@example.org"))

        async with uow.standalone() as repos:
            assert await repos.users.get(first.id) is None
            assert await repos.users.count() == 0

    async def test_a_deleted_users_email_is_free_again(self, uow: UnitOfWork) -> None:
        """Soft deletion releases the email for a new registration."""
        old = await add_user(uow, make_user())
        async with uow() as tx:
            await tx.users.update(old.deleted(NOW))

        new = await add_user(uow, make_user())

        async with uow.standalone() as repos:
            assert await repos.users.get_by_email(new.email) == new
            assert await repos.users.get(old.id) is None
            assert await repos.users.get(old.id, include_deleted=True) == old.deleted(NOW)

    async def test_restoring_a_user_whose_email_was_taken_is_refused(self, uow: UnitOfWork) -> None:
        """A restore cannot create a second live account with one email."""
        old = await add_user(uow, make_user())
        async with uow() as tx:
            await tx.users.update(old.deleted(NOW))
        await add_user(uow, make_user())

        with pytest.raises(EmailTakenError):
            async with uow() as tx:
                await tx.users.update(old.restored(NOW))

    async def test_changing_email_to_a_taken_one_is_refused(self, uow: UnitOfWork) -> None:
        """An update cannot take another live user's email."""
        await add_user(uow, make_user(email="bob@example.org"))
        ann = await add_user(uow, make_user())

        with pytest.raises(EmailTakenError):
            async with uow() as tx:
                await tx.users.update(ann.changed(now=NOW, email=Email.parse("Bob@example.org")))

    async def test_changing_email_frees_the_old_one(self, uow: UnitOfWork) -> None:
        """After an email change, the previous address can be registered."""
        ann = await add_user(uow, make_user())
        async with uow() as tx:
            await tx.users.update(ann.changed(now=NOW, email=Email.parse("ann2@example.org")))

        other = await add_user(uow, make_user())

        async with uow.standalone() as repos:
            assert await repos.users.get_by_email(Email.parse("ann@example.org")) == other

    async def test_deleted_users_are_found_by_email_only_on_request(self, uow: UnitOfWork) -> None:
        """The most recently deleted holder of an email is found with include_deleted."""
        first = await add_user(uow, make_user())
        async with uow() as tx:
            await tx.users.update(first.deleted(NOW))
        second = await add_user(uow, make_user())
        async with uow() as tx:
            await tx.users.update(second.deleted(NOW + timedelta(hours=1)))

        async with uow.standalone() as repos:
            hidden = await repos.users.get_by_email(Email.parse("ann@example.org"))
            found = await repos.users.get_by_email(
                Email.parse("ann@example.org"), include_deleted=True
            )

        assert hidden is None
        assert found is not None
        assert found.id == second.id

    async def test_password_hash_is_replaced_only_if_unchanged(self, uow: UnitOfWork) -> None:
        """The rehash-on-login swap is a compare-and-set."""
        user = await add_user(uow, make_user())

        async with uow.standalone() as repos:
            swapped = await repos.users.replace_password_hash(user.id, user.password_hash, "new")
            stale = await repos.users.replace_password_hash(user.id, user.password_hash, "newer")
            stored = await repos.users.get(user.id)

        assert (swapped, stale) == (True, False)
        assert stored is not None
        assert stored.password_hash == "new"

    async def test_counts_follow_inserts_deletes_and_restores(self, uow: UnitOfWork) -> None:
        """The live and total counts move with every change of deletion state."""
        users = [await add_user(uow, make_user(f"u{i}@example.org")) for i in range(3)]
        async with uow() as tx:
            await tx.users.update(users[0].deleted(NOW))

        async with uow.standalone() as repos:
            assert await repos.users.count() == 2
            assert await repos.users.count(include_deleted=True) == 3

        async with uow() as tx:
            await tx.users.update(users[0].deleted(NOW).restored(NOW))
        async with uow.standalone() as repos:
            assert await repos.users.count() == 3

    async def test_active_admins_are_counted(self, uow: UnitOfWork) -> None:
        """Only active, live admins count towards the last-admin rule."""
        await add_user(uow, make_user("a@example.org", role=Role.ADMIN))
        await add_user(uow, make_user("b@example.org", role=Role.ADMIN, is_active=False))
        gone = await add_user(uow, make_user("c@example.org", role=Role.ADMIN))
        await add_user(uow, make_user("d@example.org"))
        async with uow() as tx:
            await tx.users.update(gone.deleted(NOW))

        async with uow() as tx:
            locked = await tx.users.count_active_admins(lock=True)
        async with uow.standalone() as repos:
            plain = await repos.users.count_active_admins()

        assert (locked, plain) == (1, 1)

    async def test_pages_and_walks_follow_creation_order(self, uow: UnitOfWork) -> None:
        """Offset pages and keyset walks list users oldest first, ties broken by id."""
        users = [
            await add_user(
                uow, make_user(f"u{i}@example.org", created_at=NOW + timedelta(seconds=i % 3))
            )
            for i in range(7)
        ]
        expected = sorted(users, key=lambda u: (u.created_at, u.id))

        async with uow.standalone() as repos:
            page = await repos.users.page(offset=2, limit=3)
            walked: list[User] = []
            position = None
            while batch := await repos.users.after(position, limit=2):
                walked.extend(batch)
                position = ListPosition(created_at=batch[-1].created_at, user_id=batch[-1].id)

        assert list(page) == expected[2:5]
        assert walked == expected

    async def test_pages_can_count_from_the_newest_end(self, uow: UnitOfWork) -> None:
        """newest_first reverses the order the offset counts in."""
        users = [
            await add_user(
                uow, make_user(f"u{i}@example.org", created_at=NOW + timedelta(seconds=i))
            )
            for i in range(6)
        ]

        async with uow.standalone() as repos:
            page = await repos.users.page(offset=1, limit=3, newest_first=True)

        assert [u.id for u in page] == [u.id for u in reversed(users[2:5])]

    async def test_listings_skip_deleted_users_unless_asked(self, uow: UnitOfWork) -> None:
        """Deleted users appear in pages and walks only with include_deleted."""
        users = [
            await add_user(
                uow, make_user(f"u{i}@example.org", created_at=NOW + timedelta(seconds=i))
            )
            for i in range(4)
        ]
        async with uow() as tx:
            await tx.users.update(users[1].deleted(NOW))

        async with uow.standalone() as repos:
            live = await repos.users.page(offset=0, limit=10)
            everyone = await repos.users.after(None, limit=10, include_deleted=True)

        assert [u.id for u in live] == [users[0].id, users[2].id, users[3].id]
        assert [u.id for u in everyone] == [u.id for u in users]


class SessionStoreContract:
    """What every ``SessionStore`` must do."""

    @pytest.fixture
    def uow(self) -> UnitOfWork:
        raise NotImplementedError

    async def test_a_live_session_yields_its_user(self, uow: UnitOfWork) -> None:
        """An unrevoked, unexpired session of a live user validates in one call."""
        user = await add_user(uow, make_user())
        session, _ = await add_session(uow, user)

        async with uow.standalone() as repos:
            found = await repos.sessions.live_user(session.id, user.id, NOW)

        assert found == user

    async def test_a_session_does_not_validate_for_another_user(self, uow: UnitOfWork) -> None:
        """The session id and the subject must belong together."""
        ann = await add_user(uow, make_user())
        bob = await add_user(uow, make_user("bob@example.org"))
        session, _ = await add_session(uow, ann)

        async with uow.standalone() as repos:
            assert await repos.sessions.live_user(session.id, bob.id, NOW) is None

    async def test_revoked_expired_and_deleted_end_validation(self, uow: UnitOfWork) -> None:
        """Revocation, expiry, deactivation and deletion each end a session's validity."""
        ann = await add_user(uow, make_user())
        revoked, _ = await add_session(uow, ann)
        short, _ = await add_session(uow, ann, lifetime=timedelta(minutes=1))
        async with uow.standalone() as repos:
            await repos.sessions.revoke(revoked.id, NOW)

            assert await repos.sessions.live_user(revoked.id, ann.id, NOW) is None
            assert (
                await repos.sessions.live_user(short.id, ann.id, NOW + timedelta(minutes=1)) is None
            )

        bob = await add_user(uow, make_user("bob@example.org"))
        bobs, _ = await add_session(uow, bob)
        async with uow() as tx:
            await tx.users.update(bob.changed(now=NOW, is_active=False))
        async with uow.standalone() as repos:
            assert await repos.sessions.live_user(bobs.id, bob.id, NOW) is None

        cid = await add_user(uow, make_user("cid@example.org"))
        cids, _ = await add_session(uow, cid)
        async with uow() as tx:
            await tx.users.update(cid.deleted(NOW))
        async with uow.standalone() as repos:
            assert await repos.sessions.live_user(cids.id, cid.id, NOW) is None

    async def test_a_refresh_token_is_spent_once(self, uow: UnitOfWork) -> None:
        """The first spend wins; later ones see when it was spent; unknown hashes are None."""
        user = await add_user(uow, make_user())
        _, token = await add_session(uow, user)
        later = NOW + timedelta(seconds=5)

        async with uow() as tx:
            first = await tx.sessions.spend(token.token_hash, NOW)
        async with uow() as tx:
            second = await tx.sessions.spend(token.token_hash, later)
            unknown = await tx.sessions.spend(hash_refresh_token("nope"), later)

        assert first is not None
        assert first.spent_now
        assert second is not None
        assert not second.spent_now
        assert second.token.spent_at == NOW
        assert unknown is None

    async def test_concurrent_spends_have_one_winner(self, uow: UnitOfWork) -> None:
        """Of many transactions spending one token at once, exactly one spends it."""
        user = await add_user(uow, make_user())
        _, token = await add_session(uow, user)
        outcomes: list[bool] = []

        async def spend() -> None:
            async with uow() as tx:
                outcome = await tx.sessions.spend(token.token_hash, NOW)
                await anyio.sleep(0.01)  # hold the transaction open while others try
            assert outcome is not None
            outcomes.append(outcome.spent_now)

        async with anyio.create_task_group() as tg:
            for _ in range(8):
                tg.start_soon(spend)

        assert sorted(outcomes) == [False] * 7 + [True]

    async def test_revoke_all_keeps_only_the_named_session(self, uow: UnitOfWork) -> None:
        """Sign-out-everywhere-else ends every session but one, and counts them."""
        user = await add_user(uow, make_user())
        keep, _ = await add_session(uow, user)
        others = [(await add_session(uow, user))[0] for _ in range(3)]

        async with uow.standalone() as repos:
            ended = await repos.sessions.revoke_all(user.id, NOW, keep=keep.id)
            again = await repos.sessions.revoke_all(user.id, NOW, keep=keep.id)
            kept = await repos.sessions.live_user(keep.id, user.id, NOW)
            gone = [await repos.sessions.get(s.id) for s in others]

        assert (ended, again) == (3, 0)
        assert kept == user
        assert all(s is not None and s.revoked_at == NOW for s in gone)

    async def test_purge_forgets_ended_sessions_and_their_tokens(self, uow: UnitOfWork) -> None:
        """Sessions that ended before the cut-off disappear with their refresh tokens."""
        user = await add_user(uow, make_user())
        old, old_token = await add_session(uow, user, lifetime=timedelta(hours=1))
        live, _ = await add_session(uow, user)

        async with uow.standalone() as repos:
            purged = await repos.sessions.purge(NOW + timedelta(days=1))
            assert await repos.sessions.get(old.id) is None
            assert await repos.sessions.get(live.id) is not None
        async with uow() as tx:
            assert await tx.sessions.spend(old_token.token_hash, NOW) is None

        assert purged == 1


class LoginAttemptStoreContract:
    """What every ``LoginAttemptStore`` must do."""

    @pytest.fixture
    def attempts(self) -> LoginAttemptStore:
        raise NotImplementedError

    @pytest.fixture
    def keys(self) -> ThrottleKeys:
        return ThrottleKeys(pair=f"pair-{uuid.uuid4().hex}", account=f"account-{uuid.uuid4().hex}")

    async def test_failures_count_up_under_both_keys(
        self, attempts: LoginAttemptStore, keys: ThrottleKeys
    ) -> None:
        """Each failure adds one to the pair and the account counter."""
        for second in range(3):
            await attempts.record_failure(
                keys, NOW + timedelta(seconds=second), stale_before=NOW - timedelta(days=1)
            )

        pair, account = await attempts.get(keys)

        expected = FailureRecord(failures=3, last_failure_at=NOW + timedelta(seconds=2))
        assert (pair, account) == (expected, expected)

    async def test_the_account_counter_is_shared_by_clients(
        self, attempts: LoginAttemptStore, keys: ThrottleKeys
    ) -> None:
        """Failures from two clients add up on the account, not on each other's pair."""
        other = ThrottleKeys(pair=f"pair-{uuid.uuid4().hex}", account=keys.account)
        stale = NOW - timedelta(days=1)
        await attempts.record_failure(keys, NOW, stale_before=stale)
        await attempts.record_failure(other, NOW, stale_before=stale)

        pair, account = await attempts.get(other)

        assert pair is not None
        assert account is not None
        assert (pair.failures, account.failures) == (1, 2)

    async def test_stale_counters_start_again(
        self, attempts: LoginAttemptStore, keys: ThrottleKeys
    ) -> None:
        """A failure long after the last one counts as the first."""
        await attempts.record_failure(keys, NOW, stale_before=NOW - timedelta(days=1))
        later = NOW + timedelta(days=2)

        await attempts.record_failure(keys, later, stale_before=later - timedelta(days=1))

        pair, _ = await attempts.get(keys)
        assert pair == FailureRecord(failures=1, last_failure_at=later)

    async def test_clear_forgets_both_counters(
        self, attempts: LoginAttemptStore, keys: ThrottleKeys
    ) -> None:
        """After a success nothing is remembered."""
        await attempts.record_failure(keys, NOW, stale_before=NOW)

        await attempts.clear(keys)

        assert await attempts.get(keys) == (None, None)

    async def test_concurrent_failures_are_all_counted(
        self, attempts: LoginAttemptStore, keys: ThrottleKeys
    ) -> None:
        """Parallel failures lose no increment, and a burst of 150 waits rather than fails."""
        async with anyio.create_task_group() as tg:
            for _ in range(150):
                tg.start_soon(
                    lambda: attempts.record_failure(keys, NOW, stale_before=NOW - timedelta(days=1))
                )

        pair, account = await attempts.get(keys)

        assert pair is not None
        assert account is not None
        assert (pair.failures, account.failures) == (150, 150)
