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
from usermgmt.domain.devices import DeviceToken, hash_device_token
from usermgmt.domain.model import (
    USER_AGENT_MAX_LENGTH,
    Email,
    RefreshToken,
    Session,
    SessionId,
    User,
    UserId,
    hash_refresh_token,
)
from usermgmt.domain.rules.listing import ListPosition
from usermgmt.domain.rules.throttle import (
    FailureRecord,
    LoginAttempt,
    LoginThrottlePolicy,
    Reservation,
)
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

    async def test_verification_and_a_pending_email_read_back(self, uow: UnitOfWork) -> None:
        """``email_verified`` and ``pending_email`` are stored and read back as written."""
        user = await add_user(uow, make_user())
        waiting = user.verified(NOW).email_change_requested(Email.parse("Ann.New@example.org"), NOW)
        async with uow() as tx:
            await tx.users.update(waiting)
        async with uow.standalone() as repos:
            found = await repos.users.get(user.id)

        assert user.email_verified is False
        assert found == waiting
        assert found is not None
        assert found.pending_email is not None
        assert (found.email_verified, found.pending_email.value) == (True, "ann.new@example.org")

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

    @pytest.mark.parametrize(
        ("first", "second"),
        [
            ("ΟΔΥΣΣΕΑΣ@example.gr", "οδυσσεασ@example.gr"),
            ("ｃat@example.org", "cat@example.org"),
            ("ﬁle@example.org", "file@example.org"),
            ("Straße@example.de", "STRASSE@example.de"),
        ],
        ids=["final-sigma", "full-width", "ligature", "sharp-s"],
    )
    async def test_emails_are_unique_under_unicode_case_folding(
        self, uow: UnitOfWork, first: str, second: str
    ) -> None:
        """Two spellings with one NFKC_Casefold key are one address, not two accounts."""
        await add_user(uow, make_user(email=first))

        with pytest.raises(EmailTakenError):
            await add_user(uow, make_user(email=second))

    async def test_any_spelling_finds_the_user_and_the_stored_form_is_kept(
        self, uow: UnitOfWork
    ) -> None:
        """Look-up goes by the key; the address reads back as it was stored."""
        user = await add_user(uow, make_user(email="ΟΔΥΣΣΕΑΣ@example.gr"))
        async with uow() as tx:
            await tx.users.update(user.deleted(NOW))
        live = await add_user(uow, make_user(email="ﬁle@example.org"))

        async with uow.standalone() as repos:
            by_key = await repos.users.get_by_email(Email.parse("FILE@example.org"))
            deleted = await repos.users.get_by_email(
                Email.parse("οδυσσεασ@example.gr"), include_deleted=True
            )

        assert by_key == live
        assert by_key is not None
        assert by_key.email.value == "ﬁle@example.org"
        assert deleted is not None
        assert (deleted.id, deleted.email.value) == (user.id, "οδυσσεας@example.gr")

    async def test_restoring_over_another_spelling_of_a_live_email_is_refused(
        self, uow: UnitOfWork
    ) -> None:
        """Restore's conflict check compares keys: the final sigma does not slip through."""
        old = await add_user(uow, make_user(email="ΟΔΥΣΣΕΑΣ@example.gr"))
        async with uow() as tx:
            await tx.users.update(old.deleted(NOW))
        await add_user(uow, make_user(email="οδυσσεασ@example.gr"))

        with pytest.raises(EmailTakenError):
            async with uow() as tx:
                await tx.users.update(old.restored(NOW))

    async def test_changing_email_to_another_spelling_of_a_taken_one_is_refused(
        self, uow: UnitOfWork
    ) -> None:
        """An update cannot take another live user's address in a full-width spelling."""
        await add_user(uow, make_user(email="cat@example.org"))
        ann = await add_user(uow, make_user())

        with pytest.raises(EmailTakenError):
            async with uow() as tx:
                await tx.users.update(ann.changed(now=NOW, email=Email.parse("ｃat@example.org")))

    async def test_respelling_ones_own_email_keeps_it(self, uow: UnitOfWork) -> None:
        """Changing to another spelling of one's own address is no conflict, and holds the key."""
        ann = await add_user(uow, make_user(email="ﬁle@example.org"))
        async with uow() as tx:
            await tx.users.update(ann.changed(now=NOW, email=Email.parse("file@example.org")))

        with pytest.raises(EmailTakenError):
            await add_user(uow, make_user(email="ﬁle@example.org"))
        async with uow.standalone() as repos:
            found = await repos.users.get_by_email(Email.parse("ﬁle@example.org"))
        assert found is not None
        assert (found.id, found.email.value) == (ann.id, "file@example.org")

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

    async def test_a_session_reads_back_with_where_and_how_it_began(self, uow: UnitOfWork) -> None:
        """Address, user agent, methods and last use come back as stored; unknown ones as None."""
        user = await add_user(uow, make_user())
        known = Session.start(
            id=SessionId(uuid.uuid4()),
            user_id=user.id,
            now=NOW,
            lifetime=timedelta(days=1),
            ip="2001:db8::1",
            user_agent="Mozilla/5.0 " + "é" * 600,
            amr=("pwd", "otp"),
        )
        unknown = make_session(user)
        async with uow() as tx:
            await tx.sessions.add(known, make_token(known))
            await tx.sessions.add(unknown, make_token(unknown))

        async with uow.standalone() as repos:
            found = [await repos.sessions.get(known.id), await repos.sessions.get(unknown.id)]

        assert found == [known, unknown]
        assert known.user_agent is not None
        assert len(known.user_agent) == USER_AGENT_MAX_LENGTH
        assert (unknown.ip, unknown.user_agent, unknown.amr) == (None, None, ("pwd",))
        assert known.last_used_at == known.created_at == NOW

    async def test_a_further_token_marks_its_session_used(self, uow: UnitOfWork) -> None:
        """A refresh (a further token) moves the session's last use to the token's issue time."""
        user = await add_user(uow, make_user())
        session, _ = await add_session(uow, user)
        other, _ = await add_session(uow, user)
        later = NOW + timedelta(hours=3)

        async with uow() as tx:
            await tx.sessions.add_token(make_token(session, now=later))
        async with uow.standalone() as repos:
            used = await repos.sessions.get(session.id)
            untouched = await repos.sessions.get(other.id)

        assert used is not None
        assert used.last_used_at == later
        assert untouched == other

    async def test_list_live_is_the_users_live_sessions_newest_first(self, uow: UnitOfWork) -> None:
        """Only the user's unrevoked, unexpired sessions, the newest first, up to the limit."""
        ann = await add_user(uow, make_user())
        bob = await add_user(uow, make_user("bob@example.org"))
        started = [(await add_session(uow, ann, now=NOW - timedelta(hours=n)))[0] for n in range(4)]
        revoked, _ = await add_session(uow, ann, now=NOW - timedelta(minutes=30))
        await add_session(uow, ann, now=NOW - timedelta(days=2), lifetime=timedelta(days=1))
        await add_session(uow, bob)
        async with uow.standalone() as repos:
            await repos.sessions.revoke(revoked.id, NOW)

            every = await repos.sessions.list_live(ann.id, NOW, limit=10)
            two = await repos.sessions.list_live(ann.id, NOW, limit=2)
            none = await repos.sessions.list_live(UserId(uuid.uuid4()), NOW, limit=10)

        assert every == started
        assert two == started[:2]
        assert none == []

    async def test_revoke_of_a_user_ends_only_that_users_live_session(
        self, uow: UnitOfWork
    ) -> None:
        """Naming the user, another user's session or an ended one is refused and left as is."""
        ann = await add_user(uow, make_user())
        bob = await add_user(uow, make_user("bob@example.org"))
        anns, _ = await add_session(uow, ann)
        bobs, _ = await add_session(uow, bob)
        expired, _ = await add_session(uow, ann, lifetime=timedelta(minutes=1))
        later = NOW + timedelta(minutes=5)

        async with uow() as tx:
            foreign = await tx.sessions.revoke(bobs.id, later, user_id=ann.id)
            own = await tx.sessions.revoke(anns.id, later, user_id=ann.id)
            again = await tx.sessions.revoke(anns.id, later, user_id=ann.id)
            gone = await tx.sessions.revoke(expired.id, later, user_id=ann.id)
            unknown = await tx.sessions.revoke(SessionId(uuid.uuid4()), later)
        async with uow.standalone() as repos:
            stored = [await repos.sessions.get(s.id) for s in (anns, bobs, expired)]

        assert (foreign, own, again, gone, unknown) == (False, True, False, False, False)
        assert [s.revoked_at if s else "missing" for s in stored] == [later, None, None]

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


class DeviceTokenStoreContract:
    """What every ``DeviceTokenStore`` must do."""

    @pytest.fixture
    def uow(self) -> UnitOfWork:
        raise NotImplementedError

    @staticmethod
    async def _add(
        uow: UnitOfWork,
        user: User,
        secret: str,
        *,
        lifetime: timedelta = timedelta(days=30),
        replacing: str | None = None,
    ) -> DeviceToken:
        token = DeviceToken.issue(
            token_hash=hash_device_token(secret), user_id=user.id, now=NOW, lifetime=lifetime
        )
        async with uow() as tx:
            await tx.devices.add(
                token, replacing=hash_device_token(replacing) if replacing else None
            )
        return token

    async def test_a_stored_token_is_found_until_it_expires(self, uow: UnitOfWork) -> None:
        """A token reads back by its digest while it lives, and not at its expiry."""
        user = await add_user(uow, make_user())
        token = await self._add(uow, user, "secret", lifetime=timedelta(hours=1))

        async with uow.standalone() as repos:
            live = await repos.devices.get(hash_device_token("secret"), NOW)
            expired = await repos.devices.get(hash_device_token("secret"), NOW + timedelta(hours=1))
            unknown = await repos.devices.get(hash_device_token("other"), NOW)

        assert (live, expired, unknown) == (token, None, None)

    async def test_a_token_replacing_another_spends_it(self, uow: UnitOfWork) -> None:
        """The token presented at a login is gone once its successor is stored."""
        user = await add_user(uow, make_user())
        await self._add(uow, user, "first")

        second = await self._add(uow, user, "second", replacing="first")

        async with uow.standalone() as repos:
            assert await repos.devices.get(hash_device_token("first"), NOW) is None
            assert await repos.devices.get(hash_device_token("second"), NOW) == second

    async def test_revoke_all_forgets_one_users_tokens(self, uow: UnitOfWork) -> None:
        """Every token of the user goes; another user's stay."""
        ann = await add_user(uow, make_user())
        bob = await add_user(uow, make_user("bob@example.org"))
        for secret in ("a1", "a2"):
            await self._add(uow, ann, secret)
        bobs = await self._add(uow, bob, "b1")

        async with uow() as tx:
            revoked = await tx.devices.revoke_all(ann.id)
        async with uow.standalone() as repos:
            left = [await repos.devices.get(hash_device_token(s), NOW) for s in ("a1", "a2", "b1")]

        assert revoked == 2
        assert left == [None, None, bobs]

    async def test_purge_forgets_expired_tokens(self, uow: UnitOfWork) -> None:
        """Tokens that expired before the cut-off are deleted and counted."""
        user = await add_user(uow, make_user())
        await self._add(uow, user, "old", lifetime=timedelta(hours=1))
        live = await self._add(uow, user, "live")

        async with uow.standalone() as repos:
            purged = await repos.devices.purge(NOW + timedelta(days=1))
            kept = await repos.devices.get(hash_device_token("live"), NOW)

        assert (purged, kept) == (1, live)


def _policy(**numbers: int | timedelta) -> LoginThrottlePolicy:
    return LoginThrottlePolicy(**numbers)  # type: ignore[arg-type]  # keyword pass-through


def _email() -> str:
    """A fresh account for each test, so that stores shared between runs do not collide."""
    return f"{uuid.uuid4().hex}@example.org"


def _record(failures: int, at: datetime) -> FailureRecord:
    return FailureRecord(failures=failures, last_failure_at=at)


class LoginAttemptStoreContract:
    """What every ``LoginAttemptStore`` must do: one atomic check-and-count per attempt."""

    @pytest.fixture
    def attempts(self) -> LoginAttemptStore:
        raise NotImplementedError

    async def test_an_admitted_attempt_counts_under_each_of_its_counters(
        self, attempts: LoginAttemptStore
    ) -> None:
        """Below the thresholds every attempt is admitted and counted under pair and account."""
        attempt = _policy().attempt(_email(), "10.0.0.1")
        outcomes = [await attempts.reserve(attempt, NOW + timedelta(seconds=n)) for n in range(3)]

        last = NOW + timedelta(seconds=2)
        assert [o.admitted for o in outcomes] == [True, True, True]
        assert outcomes[-1].records == (_record(3, last), _record(3, last))

    async def test_a_locked_counter_refuses_until_its_back_off_runs_out(
        self, attempts: LoginAttemptStore
    ) -> None:
        """Three failures lock for 1 s, the fourth for 2 s, and a refusal counts nothing."""
        attempt = _policy(per_client=3).attempt(_email(), "10.0.0.1")
        for _ in range(3):
            await attempts.reserve(attempt, NOW)
        second = timedelta(seconds=1)

        refused = await attempts.reserve(attempt, NOW)
        fourth = await attempts.reserve(attempt, NOW + second)
        still = await attempts.reserve(attempt, NOW + 2 * second)
        fifth = await attempts.reserve(attempt, NOW + 3 * second)

        assert refused == Reservation(admitted=False, records=(_record(3, NOW), _record(3, NOW)))
        assert fourth.admitted
        assert not still.admitted
        assert still.records[0] == _record(4, NOW + second)
        assert fifth.admitted
        assert fifth.records[0] == _record(5, NOW + 3 * second)

    async def test_the_back_off_stops_growing_at_its_cap(self, attempts: LoginAttemptStore) -> None:
        """With a 2 s cap, the tenth failure past the threshold locks for 2 s, not 512."""
        attempt = _policy(per_client=1, max_delay=timedelta(seconds=2)).attempt(
            _email(), "10.0.0.1"
        )
        at = NOW
        for _ in range(10):
            assert (await attempts.reserve(attempt, at)).admitted
            at += timedelta(seconds=2)

        assert not (await attempts.reserve(attempt, at - timedelta(seconds=1))).admitted
        assert (await attempts.reserve(attempt, at)).admitted

    async def test_the_account_ceiling_stops_every_client(
        self, attempts: LoginAttemptStore
    ) -> None:
        """Failures from three clients add up on the account; a fourth client is refused."""
        policy, email = _policy(per_account=3), _email()
        for n in range(3):
            assert (await attempts.reserve(policy.attempt(email, f"10.0.0.{n}"), NOW)).admitted

        fourth = await attempts.reserve(policy.attempt(email, "10.0.0.9"), NOW)

        assert fourth == Reservation(admitted=False, records=(None, _record(3, NOW)))

    async def test_an_attempt_refused_by_one_counter_counts_under_none(
        self, attempts: LoginAttemptStore
    ) -> None:
        """A client locked on its pair adds nothing to the account while it keeps trying."""
        policy, email = _policy(per_client=2), _email()
        locked = policy.attempt(email, "203.0.113.7")
        for _ in range(2 + 10):
            await attempts.reserve(locked, NOW)

        other = await attempts.reserve(policy.attempt(email, "10.0.0.1"), NOW)

        assert other.records == (_record(1, NOW), _record(3, NOW))

    async def test_a_zero_threshold_counts_but_never_locks(
        self, attempts: LoginAttemptStore
    ) -> None:
        """Threshold 0 disables a counter's lock, not its count."""
        attempt = _policy(per_client=0, per_account=0).attempt(_email(), "10.0.0.1")

        outcomes = [await attempts.reserve(attempt, NOW) for _ in range(20)]

        assert all(o.admitted for o in outcomes)
        assert outcomes[-1].records == (_record(20, NOW), _record(20, NOW))

    async def test_forgotten_failures_start_again_from_one(
        self, attempts: LoginAttemptStore
    ) -> None:
        """After a day without failures a locked counter admits again, counting from one."""
        attempt = _policy(per_client=1, max_delay=timedelta(days=7)).attempt(_email(), "10.0.0.1")
        await attempts.reserve(attempt, NOW)
        await attempts.reserve(attempt, NOW + timedelta(seconds=1))
        later = NOW + timedelta(days=1, seconds=2)

        outcome = await attempts.reserve(attempt, later)

        assert outcome == Reservation(admitted=True, records=(_record(1, later), _record(1, later)))

    async def test_forty_attempts_at_once_on_one_pair_admit_exactly_per_client(
        self, attempts: LoginAttemptStore
    ) -> None:
        """Sent together, forty guesses from one client are admitted like forty in a row: 5."""
        attempt = _policy().attempt(_email(), "10.0.0.1")
        outcomes: list[Reservation] = []

        async def reserve() -> None:
            outcomes.append(await attempts.reserve(attempt, NOW))

        async with anyio.create_task_group() as tg:
            for _ in range(40):
                tg.start_soon(reserve)

        assert sum(o.admitted for o in outcomes) == 5
        assert all(o.records[0] == _record(5, NOW) for o in outcomes if not o.admitted)

    async def test_three_hundred_at_once_across_clients_admit_exactly_per_account(
        self, attempts: LoginAttemptStore
    ) -> None:
        """Three hundred guesses from three hundred clients at once: exactly 100 admitted."""
        policy, email = _policy(), _email()
        outcomes: list[Reservation] = []

        async def reserve(n: int) -> None:
            client = f"198.51.{n // 250}.{n % 250}"
            outcomes.append(await attempts.reserve(policy.attempt(email, client), NOW))

        async with anyio.create_task_group() as tg:
            for n in range(300):
                tg.start_soon(reserve, n)

        assert sum(o.admitted for o in outcomes) == 100
        refused = [o for o in outcomes if not o.admitted]
        assert all(o.records == (None, _record(100, NOW)) for o in refused)

    async def test_a_device_attempt_is_counted_on_the_device_not_the_account(
        self, attempts: LoginAttemptStore
    ) -> None:
        """A device-token attempt passes a locked account ceiling and counts on its device."""
        policy, email = _policy(per_account=2), _email()
        for n in range(2):
            await attempts.reserve(policy.attempt(email, f"10.0.0.{n}"), NOW)

        trusted = await attempts.reserve(policy.attempt(email, "10.0.0.9", device="d"), NOW)
        untrusted = await attempts.reserve(policy.attempt(email, "10.0.0.8"), NOW)

        assert trusted == Reservation(admitted=True, records=(_record(1, NOW), _record(1, NOW)))
        assert untrusted == Reservation(admitted=False, records=(None, _record(2, NOW)))

    async def test_release_takes_back_the_count_and_the_time(
        self, attempts: LoginAttemptStore
    ) -> None:
        """A released attempt leaves the counters as they were, so no lock is restarted."""
        attempt = _policy(per_client=1, base_delay=timedelta(seconds=10)).attempt(
            _email(), "10.0.0.1"
        )
        await attempts.reserve(attempt, NOW)
        later = NOW + timedelta(seconds=10)
        assert (await attempts.reserve(attempt, later)).admitted

        await attempts.release(attempt, later)

        again = await attempts.reserve(attempt, later)  # as if the released one never came
        assert again == Reservation(admitted=True, records=(_record(2, later), _record(2, later)))

    async def test_release_after_a_later_attempt_takes_back_only_the_count(
        self, attempts: LoginAttemptStore
    ) -> None:
        """The last failure stays the later attempt's when an earlier one is released."""
        attempt = _policy(per_client=0).attempt(_email(), "10.0.0.1")
        await attempts.reserve(attempt, NOW)
        await attempts.reserve(attempt, NOW + timedelta(seconds=1))

        await attempts.release(attempt, NOW)

        after = await attempts.reserve(attempt, NOW + timedelta(seconds=2))
        assert after.records[0] == _record(2, NOW + timedelta(seconds=2))

    async def test_concurrent_releases_lose_nothing(self, attempts: LoginAttemptStore) -> None:
        """Twenty attempts reserved and released at once leave nothing counted."""
        attempt = _policy(per_client=0, per_account=0).attempt(_email(), "10.0.0.1")

        async def round_trip() -> None:
            await attempts.reserve(attempt, NOW)
            await attempts.release(attempt, NOW)

        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(round_trip)

        after = await attempts.reserve(attempt, NOW + timedelta(seconds=1))
        assert after.records == (_record(1, NOW + timedelta(seconds=1)),) * 2

    async def test_clear_forgets_the_attempts_counters_only(
        self, attempts: LoginAttemptStore
    ) -> None:
        """A success forgets its pair and the account, not another client's pair."""
        policy, email = _policy(), _email()
        mine, theirs = policy.attempt(email, "10.0.0.1"), policy.attempt(email, "10.0.0.2")
        for attempt in (mine, mine, theirs, theirs):
            await attempts.reserve(attempt, NOW)

        await attempts.clear(mine)

        assert (await attempts.reserve(mine, NOW)).records == (_record(1, NOW),) * 2
        assert (await attempts.reserve(theirs, NOW)).records == (_record(3, NOW), _record(2, NOW))

    async def test_clear_account_forgets_every_counter_of_that_account(
        self, attempts: LoginAttemptStore
    ) -> None:
        """A password change forgets pairs, devices and the account, and nobody else's."""
        policy, email, other = _policy(), _email(), _email()
        touched: list[LoginAttempt] = [
            policy.attempt(email, "10.0.0.1"),
            policy.attempt(email, "10.0.0.2"),
            policy.attempt(email, "10.0.0.3", device="d"),
        ]
        for attempt in [*touched, *touched, policy.attempt(other, "10.0.0.1")]:
            await attempts.reserve(attempt, NOW)

        await attempts.clear_account(LoginThrottlePolicy.account_key(email))

        for attempt in touched:
            assert (await attempts.reserve(attempt, NOW)).records[0] == _record(1, NOW)
        elsewhere = await attempts.reserve(policy.attempt(other, "10.0.0.1"), NOW)
        assert elsewhere.records == (_record(2, NOW),) * 2

    async def test_purge_keeps_counters_with_recent_failures(
        self, attempts: LoginAttemptStore
    ) -> None:
        """Purging idle counters leaves the ones still counting."""
        attempt = _policy().attempt(_email(), "10.0.0.1")
        await attempts.reserve(attempt, NOW)

        await attempts.purge(NOW - timedelta(hours=1))

        assert (await attempts.reserve(attempt, NOW)).records == (_record(2, NOW),) * 2
