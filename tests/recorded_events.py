"""What each use case records, on every backend: events with the change, none without it.

A subclass provides ``um``, an open service on the ``clock`` fixture. The
events are read the way an embedder reads them: a subscriber of every event
and a pass of ``dispatch_events``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.authenticator import VirtualAuthenticator
from usermgmt import (
    SYSTEM,
    EmailTakenError,
    InvalidCredentialsError,
    InvalidTokenError,
    LastAdminError,
    LoginThrottledError,
    ManualClock,
    Principal,
    RefreshTokenReusedError,
    Role,
    Settings,
    UserManagement,
    VerificationMode,
)
from usermgmt.domain.context import request_context
from usermgmt.domain.mail import MailKind
from usermgmt.events import (
    NO_CONTEXT,
    Delivery,
    Event,
    LoggedIn,
    LoggedOut,
    LoginFailed,
    LoginFailureReason,
    MailRequested,
    PasskeyAdded,
    PasskeyRemoved,
    PasswordChanged,
    RefreshTokenReused,
    RequestContext,
    SessionsRevoked,
    TokenRefreshed,
    UserDeleted,
    UserRegistered,
    UserRestored,
    UserUpdated,
)

PASSWORD = "correct horse battery"
NEW_PASSWORD = "another horse, another battery"


class Events:
    """Every event the service delivers, in the order it was stored."""

    def __init__(self, um: UserManagement) -> None:
        self.um = um
        self.seen: list[Event] = []
        um.subscribe(Event, self._keep)

    async def _keep(self, delivery: Delivery[Event]) -> None:
        self.seen.append(delivery.event)

    async def new(self) -> list[Event]:
        """Return the events stored since the last call."""
        await self.um.dispatch_events()
        seen, self.seen = self.seen, []
        return seen


class RecordedEventsContract:
    """Each change records its event in its own transaction; a refused one records nothing."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        """No verification mail: each test here names every event a change records.

        What registration mails is tested with verification itself.
        """
        return settings.evolve(email_verification=VerificationMode.OFF)

    @pytest.fixture
    def um(self) -> UserManagement:
        raise NotImplementedError

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock()

    @pytest.fixture
    def events(self, um: UserManagement) -> Events:
        return Events(um)

    async def sign_in(self, um: UserManagement, email: str) -> Principal:
        tokens = await um.authenticate(email, PASSWORD)
        return await um.validate_access_token(tokens.access_token)

    async def test_registration_records_the_new_user(
        self, um: UserManagement, events: Events, clock: ManualClock
    ) -> None:
        """A user who registers is one UserRegistered, at the time and with no actor."""
        user = await um.register_user("ann@example.org", PASSWORD)

        assert await events.new() == [
            UserRegistered(at=clock.now(), context=NO_CONTEXT, user_id=user.id, role=Role.USER)
        ]

    async def test_an_admin_created_by_an_admin_names_the_admin(
        self, um: UserManagement, events: Events
    ) -> None:
        """An admin who creates an admin is the event's actor."""
        first = await um.register_user("root@example.org", PASSWORD, role=Role.ADMIN, actor=SYSTEM)
        admin = await self.sign_in(um, "root@example.org")
        await events.new()

        second = await um.register_user("bob@example.org", PASSWORD, role=Role.ADMIN, actor=admin)

        (registered,) = await events.new()
        assert isinstance(registered, UserRegistered)
        assert (registered.user_id, registered.role, registered.actor_id) == (
            second.id,
            Role.ADMIN,
            first.id,
        )

    async def test_a_refused_registration_records_nothing(
        self, um: UserManagement, events: Events
    ) -> None:
        """The email is taken: the transaction rolls back, and its event with it."""
        await um.register_user("ann@example.org", PASSWORD)
        await events.new()

        with pytest.raises(EmailTakenError):
            await um.register_user("ANN@example.org", PASSWORD)

        assert await events.new() == []

    async def test_the_request_context_travels_with_the_event(
        self, um: UserManagement, events: Events
    ) -> None:
        """The client's address, user agent and request id are the event's context."""
        context = RequestContext(ip="203.0.113.7", user_agent="curl/8.5", request_id="req-42")

        with request_context(context):
            await um.register_user("ann@example.org", PASSWORD)

        (registered,) = await events.new()
        assert registered.context == context

    async def test_a_login_records_its_session(self, um: UserManagement, events: Events) -> None:
        """A successful login is one LoggedIn naming the session it started."""
        user = await um.register_user("ann@example.org", PASSWORD)
        await events.new()

        principal = await self.sign_in(um, "ann@example.org")

        (logged_in,) = await events.new()
        assert isinstance(logged_in, LoggedIn)
        assert (logged_in.user_id, logged_in.session_id) == (user.id, principal.session_id)

    async def test_each_failed_login_records_why_it_failed(
        self, um: UserManagement, events: Events
    ) -> None:
        """Unknown email, wrong password, inactive, deleted: one LoginFailed each, with why."""
        ann = await um.register_user("ann@example.org", PASSWORD)
        bob = await um.register_user("bob@example.org", PASSWORD)
        cid = await um.register_user("cid@example.org", PASSWORD)
        await um.update_user(bob.id, actor=SYSTEM, is_active=False)
        await um.delete_user(cid.id, actor=SYSTEM)
        await events.new()

        for email, password in [
            ("nobody@example.org", PASSWORD),
            ("not an email", PASSWORD),
            ("ann@example.org", "wrong horse battery"),
            ("bob@example.org", PASSWORD),
            ("cid@example.org", PASSWORD),
        ]:
            with pytest.raises(InvalidCredentialsError):
                await um.authenticate(email, password, client="192.0.2.1")

        recorded = await events.new()
        assert all(isinstance(e, LoginFailed) for e in recorded)
        assert [(e.reason, e.user_id) for e in recorded if isinstance(e, LoginFailed)] == [
            (LoginFailureReason.UNKNOWN_EMAIL, None),
            (LoginFailureReason.UNKNOWN_EMAIL, None),
            (LoginFailureReason.WRONG_PASSWORD, ann.id),
            (LoginFailureReason.INACTIVE, bob.id),
            (LoginFailureReason.UNKNOWN_EMAIL, None),  # deleted: no live account has it
        ]

    async def test_a_throttled_login_is_recorded_for_known_and_unknown_emails_alike(
        self, um: UserManagement, events: Events
    ) -> None:
        """A throttled attempt is a LoginFailed too, whether or not the account exists."""
        ann = await um.register_user("ann@example.org", PASSWORD)
        for email in ("ann@example.org", "nobody@example.org"):
            for _ in range(um.settings.login_max_failures):
                with pytest.raises(InvalidCredentialsError):
                    await um.authenticate(email, "wrong horse battery", client="192.0.2.1")
        await events.new()

        for email in ("ann@example.org", "nobody@example.org"):
            with pytest.raises(LoginThrottledError):
                await um.authenticate(email, PASSWORD, client="192.0.2.1")

        assert [
            (e.reason, e.user_id) for e in await events.new() if isinstance(e, LoginFailed)
        ] == [
            (LoginFailureReason.THROTTLED, ann.id),
            (LoginFailureReason.THROTTLED, None),
        ]

    async def test_refreshing_and_reusing_a_refresh_token_are_recorded(
        self, um: UserManagement, events: Events, clock: ManualClock
    ) -> None:
        """A rotation is TokenRefreshed; a spent token again is RefreshTokenReused."""
        user = await um.register_user("ann@example.org", PASSWORD)
        tokens = await um.authenticate("ann@example.org", PASSWORD)
        session_id = (await um.validate_access_token(tokens.access_token)).session_id
        await events.new()

        await um.refresh(tokens.refresh_token)
        with pytest.raises(RefreshTokenReusedError):
            await um.refresh(tokens.refresh_token)  # within the grace window: forgiven
        clock.advance(timedelta(seconds=um.settings.refresh_reuse_grace + 1))
        with pytest.raises(RefreshTokenReusedError):
            await um.refresh(tokens.refresh_token)  # after it: the session ends

        at = clock.now()
        grace_start = at - timedelta(seconds=um.settings.refresh_reuse_grace + 1)
        assert await events.new() == [
            TokenRefreshed(at=grace_start, user_id=user.id, session_id=session_id),
            RefreshTokenReused(
                at=grace_start, user_id=user.id, session_id=session_id, session_revoked=False
            ),
            RefreshTokenReused(at=at, user_id=user.id, session_id=session_id, session_revoked=True),
        ]

    async def test_an_unknown_refresh_token_records_nothing(
        self, um: UserManagement, events: Events
    ) -> None:
        """Nothing changed, and no account is named: nothing to record."""
        with pytest.raises(InvalidTokenError):
            await um.refresh("no such token")

        assert await events.new() == []

    async def test_logging_out_is_recorded_for_one_session_or_all(
        self, um: UserManagement, events: Events, clock: ManualClock
    ) -> None:
        """Logout names the session it came from and whether it ended them all."""
        user = await um.register_user("ann@example.org", PASSWORD)
        first = await self.sign_in(um, "ann@example.org")
        second = await self.sign_in(um, "ann@example.org")
        await events.new()

        await um.logout(first)
        await um.logout(second, all_sessions=True)

        now = clock.now()
        assert await events.new() == [
            LoggedOut(at=now, user_id=user.id, session_id=first.session_id),
            LoggedOut(at=now, user_id=user.id, session_id=second.session_id, all_sessions=True),
        ]

    async def test_ending_every_session_records_how_many_ended(
        self, um: UserManagement, events: Events, clock: ManualClock
    ) -> None:
        """An operator's "sign out everywhere" is SessionsRevoked with the count and no actor."""
        user = await um.register_user("ann@example.org", PASSWORD)
        await self.sign_in(um, "ann@example.org")
        await self.sign_in(um, "ann@example.org")
        await events.new()

        await um.revoke_sessions(user.id, actor=SYSTEM)

        assert await events.new() == [
            SessionsRevoked(at=clock.now(), user_id=user.id, actor_id=None, count=2)
        ]

    async def test_ending_one_or_the_other_sessions_records_which(
        self, um: UserManagement, events: Events, clock: ManualClock
    ) -> None:
        """A user ending a device, then the others; an operator ending one: SessionsRevoked each."""
        user = await um.register_user("ann@example.org", PASSWORD)
        ann = await self.sign_in(um, "ann@example.org")
        phone = await self.sign_in(um, "ann@example.org")
        laptop = await self.sign_in(um, "ann@example.org")
        tablet = await self.sign_in(um, "ann@example.org")
        await events.new()

        await um.end_session(ann, phone.session_id)
        await um.revoke_sessions(user.id, actor=SYSTEM, session_id=laptop.session_id)
        await um.end_other_sessions(ann)

        now = clock.now()
        assert await events.new() == [
            SessionsRevoked(
                at=now, user_id=user.id, actor_id=user.id, count=1, session_id=phone.session_id
            ),
            SessionsRevoked(
                at=now, user_id=user.id, actor_id=None, count=1, session_id=laptop.session_id
            ),
            SessionsRevoked(
                at=now, user_id=user.id, actor_id=user.id, count=1, kept_session_id=ann.session_id
            ),
        ]
        assert tablet.session_id not in {s.id for s in await um.list_own_sessions(ann)}

    async def test_an_update_records_the_fields_that_changed(
        self, um: UserManagement, events: Events, clock: ManualClock
    ) -> None:
        """Name by the user, role and activation by the operator: what changed, and by whom."""
        user = await um.register_user("ann@example.org", PASSWORD, "Ann")
        ann = await self.sign_in(um, "ann@example.org")
        await events.new()

        await um.update_user(user.id, actor=ann, name="Ann Smith", email="ann@example.org")
        await um.update_user(user.id, actor=SYSTEM, role=Role.ADMIN, is_active=False)
        await um.update_user(user.id, actor=SYSTEM, name="Ann Smith")  # no difference

        now = clock.now()
        assert await events.new() == [
            UserUpdated(
                at=now,
                user_id=user.id,
                actor_id=user.id,
                changed=("name",),
                role=Role.USER,
                is_active=True,
            ),
            UserUpdated(
                at=now,
                user_id=user.id,
                actor_id=None,
                changed=("role", "is_active"),
                role=Role.ADMIN,
                is_active=False,
            ),
        ]

    async def test_a_password_change_records_the_session_it_kept(
        self, um: UserManagement, events: Events, clock: ManualClock
    ) -> None:
        """The user's own change keeps their session; the operator's keeps none."""
        user = await um.register_user("ann@example.org", PASSWORD)
        ann = await self.sign_in(um, "ann@example.org")
        await events.new()

        await um.change_password(user.id, NEW_PASSWORD, actor=ann, current_password=PASSWORD)
        await um.change_password(user.id, PASSWORD, actor=SYSTEM)

        now = clock.now()
        assert await events.new() == [
            PasswordChanged(
                at=now, user_id=user.id, actor_id=user.id, kept_session_id=ann.session_id
            ),
            PasswordChanged(at=now, user_id=user.id, actor_id=None),
        ]

    async def test_a_refused_update_records_nothing(
        self, um: UserManagement, events: Events
    ) -> None:
        """The last admin cannot be demoted, an email cannot be taken: no event for either."""
        root = await um.register_user("root@example.org", PASSWORD, role=Role.ADMIN, actor=SYSTEM)
        await um.register_user("ann@example.org", PASSWORD)
        await events.new()

        with pytest.raises(LastAdminError):
            await um.update_user(root.id, actor=SYSTEM, role=Role.USER)
        with pytest.raises(EmailTakenError):
            await um.update_user(root.id, actor=SYSTEM, name="Root", email="ann@example.org")

        assert await events.new() == []

    async def test_deleting_and_restoring_are_recorded(
        self, um: UserManagement, events: Events, clock: ManualClock
    ) -> None:
        """A soft delete and its undoing are one event each."""
        user = await um.register_user("ann@example.org", PASSWORD)
        await events.new()

        await um.delete_user(user.id, actor=SYSTEM)
        await um.restore_user(user.id, actor=SYSTEM)

        now = clock.now()
        assert await events.new() == [
            UserDeleted(at=now, user_id=user.id, actor_id=None),
            UserRestored(at=now, user_id=user.id, actor_id=None),
        ]

    async def test_reading_records_nothing(self, um: UserManagement, events: Events) -> None:
        """The authenticated read and the other reads write no event."""
        user = await um.register_user("ann@example.org", PASSWORD)
        tokens = await um.authenticate("ann@example.org", PASSWORD)
        await events.new()

        await um.validate_access_token(tokens.access_token)
        await um.get_user(user.id, actor=SYSTEM)
        await um.find_user("ann@example.org", actor=SYSTEM)
        await um.list_users(actor=SYSTEM)

        assert await events.new() == []

    async def test_a_passkeys_life_is_recorded(
        self, um: UserManagement, events: Events, clock: ManualClock
    ) -> None:
        """Added (with its notice), a sign-in by ``hwk``, a refused one, removed."""
        await um.register_user("ann@example.org", PASSWORD)
        ann = await self.sign_in(um, "ann@example.org")
        passkey = VirtualAuthenticator()
        begun = await um.begin_passkey_registration(ann, PASSWORD)
        credential = dict(passkey.create(dict(begun.options)))
        await events.new()

        added = await um.finish_passkey_registration(ann, begun.ceremony_id, credential, "Key")
        login = await um.begin_passkey_login()
        tokens = await um.passkey_login(login.ceremony_id, dict(passkey.get(dict(login.options))))
        with pytest.raises(InvalidCredentialsError):
            await um.passkey_login(login.ceremony_id, dict(passkey.get(dict(login.options))))
        await um.remove_passkey(ann, added.id, PASSWORD)

        now = clock.now()
        session = (await um.validate_access_token(tokens.access_token)).session_id
        recorded = await events.new()
        assert [e for e in recorded if not isinstance(e, MailRequested)] == [
            PasskeyAdded(at=now, user_id=ann.user.id, passkey_id=added.id, name="Key"),
            LoggedIn(at=now, user_id=ann.user.id, session_id=session, amr=("hwk",)),
            LoginFailed(at=now, reason=LoginFailureReason.CEREMONY_INVALID, user_id=None),
            PasskeyRemoved(at=now, user_id=ann.user.id, actor_id=ann.user.id, passkey_id=added.id),
        ]
        (notice,) = [e for e in recorded if isinstance(e, MailRequested)]
        assert notice.kind is MailKind.PASSKEY_ADDED
