"""A stateful property test: random sequences of account and session operations.

The machine keeps a simple model of who exists and which sessions live, drives
the real service (in-memory adapters) with random operations, and after every
step checks the service against the model: emails unique among live users,
refresh tokens good exactly once (reuse kills the session), no token of an
ended session validates, deleted and deactivated users cannot sign in, and
page and cursor walks each visit every live user exactly once. Users turn
TOTP on and off: once it is on, no login starts a session without a code,
and a TOTP code or a recovery code works at most once. Registration mails a
verification link and users ask to change their address: a link works at
most once, only for the address it was mailed for, never after a password
change, a deactivation or a newer request of its kind, and a confirmed
change never takes a live user's address; ``email_verified`` and
``pending_email`` always say what the model says.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta

import attrs
import pyotp
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from usermgmt import (
    SYSTEM,
    BlockingUserManagement,
    Email,
    EmailTakenError,
    InvalidCredentialsError,
    InvalidMfaCodeError,
    InvalidOneTimeTokenError,
    InvalidTokenError,
    ManualClock,
    MfaChallenge,
    RefreshTokenReusedError,
    Settings,
    TokenPair,
    UserId,
    UserManagement,
)
from usermgmt.adapters.mail import InMemoryMailer
from usermgmt.domain.mail import MailKind

NAMES = ["ann", "bob", "cid"]
PASSWORDS = ["correct horse battery", "purple elephant sunrise"]


@attrs.define
class ModelUser:
    """What the model knows of one account."""

    id: UserId
    email: str
    password: str
    active: bool = True
    deleted: bool = False
    totp_secret: str | None = None
    last_code: str | None = None
    recovery_codes: list[str] = attrs.Factory(list)
    used_codes: list[str] = attrs.Factory(list)
    verified: bool = False
    pending: str | None = None
    verify_link: tuple[str, str] | None = None
    """The latest verification token and the address it was mailed to."""
    change_link: tuple[str, str] | None = None
    """The latest email-change token and its new address (None: none was mailed)."""
    void_links: list[str] = attrs.Factory(list)
    """Tokens that must be refused: spent, replaced, or voided."""

    def void(self) -> None:
        """A password change or a shut-out voids every link of the user."""
        for link in (self.verify_link, self.change_link):
            if link is not None:
                self.void_links.append(link[0])
        self.verify_link = self.change_link = None

    @property
    def can_sign_in(self) -> bool:
        return self.active and not self.deleted


@attrs.define
class ModelSession:
    """What the model knows of one session."""

    user: ModelUser
    access_token: str
    refresh_token: str
    spent: list[str] = attrs.Factory(list)
    alive: bool = True


class SessionLifecycle(RuleBasedStateMachine):
    """Drives the service at random and compares it with the model."""

    sessions = Bundle("sessions")

    def __init__(self) -> None:
        super().__init__()
        self._stack = ExitStack()
        cheap = Settings(
            argon2_time_cost=1,
            argon2_memory_cost=8,
            argon2_parallelism=1,
            refresh_reuse_grace=0,  # every reuse is theft: deterministic
            login_max_failures=0,  # throttling has its own tests
            login_max_failures_per_account=0,
            mfa_max_failures=10_000,
            access_token_ttl=86_400,  # the clock moves 30 s per TOTP code
        )
        self.clock = ManualClock()
        self.mailer = InMemoryMailer()
        self.um: BlockingUserManagement = self._stack.enter_context(
            UserManagement.in_memory(cheap, clock=self.clock, mailer=self.mailer).blocking()
        )
        self.users: list[ModelUser] = []
        self.all_sessions: list[ModelSession] = []

    def teardown(self) -> None:
        self._stack.close()

    def _live(self) -> Iterator[ModelUser]:
        return (u for u in self.users if not u.deleted)

    def _user(self, index: int) -> ModelUser | None:
        return self.users[index % len(self.users)] if self.users else None

    def _mailed(self, kind: MailKind, to: str) -> str | None:
        """Deliver what is queued; return the token of the newest *kind* mail to *to*, if any."""
        self.um.dispatch_events()
        for message in reversed(self.mailer.sent):
            if message.kind is kind and message.to.address == to:
                found = re.search(r"#token=([\w-]+)", message.text)
                assert found is not None
                self.mailer.sent.clear()
                return found[1]
        self.mailer.sent.clear()
        return None

    def _end_sessions(self, user: ModelUser, keep: ModelSession | None = None) -> None:
        for session in self.all_sessions:
            if session.user is user and session is not keep:
                session.alive = False

    @rule(name=st.sampled_from(NAMES), upper=st.booleans(), totp=st.booleans())
    def register(self, name: str, upper: bool, totp: bool) -> None:
        email = f"{name}@example.org"
        taken = any(u.email == email for u in self._live())
        try:
            user = self.um.register_user(email.upper() if upper else email, PASSWORDS[0])
        except EmailTakenError:
            assert taken
            return
        assert not taken
        self.users.append(ModelUser(id=user.id, email=email, password=PASSWORDS[0]))
        token = self._mailed(MailKind.VERIFY_EMAIL, email)
        assert token is not None
        self.users[-1].verify_link = (token, email)
        if totp:  # signs in once and turns TOTP on with that session
            tokens = self.um.authenticate(email, PASSWORDS[0])
            assert isinstance(tokens, TokenPair)
            session = ModelSession(self.users[-1], tokens.access_token, tokens.refresh_token)
            self.all_sessions.append(session)
            self.enable_totp(session)

    @rule(
        target=sessions,
        index=st.integers(0, 20),
        second=st.sampled_from(["code", "replay", "recovery", "spent_recovery"]),
    )
    def login(self, index: int, second: str) -> ModelSession | None:
        user = self._user(index)
        if user is None:
            return None
        live_holder = next((u for u in self._live() if u.email == user.email), None)
        try:
            answer = self.um.authenticate(user.email, user.password)
        except InvalidCredentialsError:
            assert (
                live_holder is None
                or not live_holder.can_sign_in
                or live_holder.password != user.password
            )
            return None
        assert live_holder is not None
        assert live_holder.can_sign_in
        if live_holder.totp_secret is None:
            assert isinstance(answer, TokenPair)
            tokens = answer
        else:
            assert isinstance(answer, MfaChallenge)  # no session without the factor
            found = self._second_step(live_holder, answer.mfa_token, second)
            if found is None:
                return None
            tokens = found
        session = ModelSession(live_holder, tokens.access_token, tokens.refresh_token)
        self.all_sessions.append(session)
        return session

    def _second_step(self, user: ModelUser, mfa_token: str, second: str) -> TokenPair | None:
        """Answer the challenge as *second* says; a reused code must be refused."""
        assert user.totp_secret is not None
        refused: str | None = None
        if second == "replay" and user.last_code is not None:
            refused = user.last_code
        elif second == "spent_recovery" and user.used_codes:
            refused = user.used_codes[-1]
        if refused is not None:
            kind = "code" if second == "replay" else "recovery_code"
            with pytest.raises(InvalidMfaCodeError):
                self.um.verify_mfa(mfa_token, **{kind: refused})
            return None
        if second == "recovery" and user.recovery_codes:
            code = user.recovery_codes.pop()
            user.used_codes.append(code)
            return self.um.verify_mfa(mfa_token, recovery_code=code)
        self.clock.advance(timedelta(seconds=30))  # the app's next code
        user.last_code = pyotp.TOTP(user.totp_secret).at(self.clock.now())
        return self.um.verify_mfa(mfa_token, code=user.last_code)

    @rule(session=sessions)
    def enable_totp(self, session: ModelSession | None) -> None:
        if session is None or not session.alive or session.user.totp_secret is not None:
            return
        me = self.um.validate_access_token(session.access_token)
        key = self.um.start_totp(me, current_password=session.user.password)
        self.clock.advance(timedelta(seconds=30))
        code = pyotp.TOTP(key.secret).at(self.clock.now())
        codes = self.um.confirm_totp(me, code)
        session.user.totp_secret, session.user.last_code = key.secret, code
        session.user.recovery_codes, session.user.used_codes = list(codes), []
        self._end_sessions(session.user, keep=session)

    @rule(index=st.integers(0, 20))
    def reset_totp(self, index: int) -> None:
        user = self._user(index)
        if user is None or user.deleted or user.totp_secret is None:
            return
        self.um.reset_mfa(user.id, actor=SYSTEM)
        user.totp_secret, user.last_code = None, None
        user.recovery_codes, user.used_codes = [], []
        self._end_sessions(user)

    @rule(session=sessions, replay=st.booleans())
    def refresh(self, session: ModelSession | None, replay: bool) -> None:
        if session is None:
            return
        if replay and session.spent:
            self.clock.advance(timedelta(seconds=1))  # past the (zero) grace window
            with pytest.raises(InvalidTokenError) as caught:
                self.um.refresh(session.spent[0])
            if session.alive:
                assert isinstance(caught.value, RefreshTokenReusedError)
            session.alive = False
            return
        try:
            tokens = self.um.refresh(session.refresh_token)
        except InvalidTokenError:
            assert not session.alive
            return
        assert session.alive
        session.spent.append(session.refresh_token)
        session.refresh_token = tokens.refresh_token
        session.access_token = tokens.access_token

    @rule(session=consumes(sessions), everywhere=st.booleans())
    def logout(self, session: ModelSession | None, everywhere: bool) -> None:
        if session is None or not session.alive:
            return
        self.um.logout(self.um.validate_access_token(session.access_token), all_sessions=everywhere)
        if everywhere:
            self._end_sessions(session.user)
        session.alive = False

    @rule(session=sessions)
    def change_password(self, session: ModelSession | None) -> None:
        if session is None or not session.alive:
            return
        me = self.um.validate_access_token(session.access_token)
        new = PASSWORDS[1] if session.user.password == PASSWORDS[0] else PASSWORDS[0]
        self.um.change_password(me.user.id, new, actor=me, current_password=session.user.password)
        session.user.password = new
        session.user.void()
        self._end_sessions(session.user, keep=session)

    @rule(index=st.integers(0, 20), stale=st.booleans())
    def verify(self, index: int, stale: bool) -> None:
        """Spend the user's verification link (or one that must be refused)."""
        user = self._user(index)
        if user is None:
            return
        if stale or user.verify_link is None:
            if user.void_links:
                with pytest.raises(InvalidOneTimeTokenError):
                    self.um.verify_email(user.void_links[-1])
            return
        token, address = user.verify_link
        if not user.can_sign_in or address != user.email:
            with pytest.raises(InvalidOneTimeTokenError):
                self.um.verify_email(token)
            return
        verified = self.um.verify_email(token)
        assert (verified.id, verified.email_verified) == (user.id, True)
        user.verified = True
        user.verify_link = None
        user.void_links.append(token)

    @rule(
        session=sessions,
        name=st.sampled_from([*NAMES, "dee"]),
        own=st.booleans(),
        confirm=st.booleans(),
    )
    def request_change(
        self, session: ModelSession | None, name: str, own: bool, confirm: bool
    ) -> None:
        """Ask, with the password, to move to a new or a taken address; maybe confirm at once."""
        if session is None or not session.alive:
            return
        user = session.user
        new = f"{name}.new@example.org" if own else f"{name}@example.org"  # maybe taken
        if new == user.email:
            return
        me = self.um.validate_access_token(session.access_token)
        waiting = self.um.update_user(user.id, actor=me, email=new, current_password=user.password)
        assert waiting.email == Email.parse(user.email)
        assert waiting.pending_email == Email.parse(new)
        holder = next((u for u in self._live() if u.email == new), None)
        token = self._mailed(MailKind.CONFIRM_EMAIL_CHANGE, new)
        assert (token is None) == (holder is not None)  # a taken address gets no link
        if user.change_link is not None:
            user.void_links.append(user.change_link[0])
        user.change_link = (token, new) if token is not None else None
        user.pending = new
        if confirm:
            self._confirm(user)

    @rule(index=st.integers(0, 20))
    def confirm_change(self, index: int) -> None:
        """Spend a user's email-change link later, after whatever happened meanwhile."""
        user = self._user(index)
        if user is not None:
            self._confirm(user)

    def _confirm(self, user: ModelUser) -> None:
        """Spend *user*'s email-change link: it moves them, unless the address was taken."""
        if user.change_link is None:
            return
        token, new = user.change_link
        if not user.can_sign_in:
            with pytest.raises(InvalidOneTimeTokenError):
                self.um.verify_email(token)
            return
        if any(u.email == new for u in self._live() if u is not user):
            with pytest.raises(EmailTakenError):
                self.um.verify_email(token)
            return
        moved = self.um.verify_email(token)
        assert (moved.email.value, moved.email_verified, moved.pending_email) == (new, True, None)
        user.email, user.verified, user.pending = new, True, None
        user.change_link = None
        user.void_links.append(token)

    @rule(index=st.integers(0, 20), active=st.booleans())
    def set_active(self, index: int, active: bool) -> None:
        user = self._user(index)
        if user is None or user.deleted:
            return
        self.um.update_user(user.id, actor=SYSTEM, is_active=active)
        if user.active and not active:
            self._end_sessions(user)
            user.void()
        user.active = active

    @rule(index=st.integers(0, 20))
    def delete(self, index: int) -> None:
        user = self._user(index)
        if user is None or user.deleted:
            return
        self.um.delete_user(user.id, actor=SYSTEM)
        user.deleted = True
        self._end_sessions(user)
        user.void()

    @rule(index=st.integers(0, 20))
    def restore(self, index: int) -> None:
        user = self._user(index)
        if user is None or not user.deleted:
            return
        taken = any(u.email == user.email for u in self._live())
        try:
            self.um.restore_user(user.id, actor=SYSTEM)
        except EmailTakenError:
            assert taken
            return
        assert not taken
        user.deleted = False
        user.active = True  # a restored user is active again

    @invariant()
    def sessions_validate_exactly_while_alive(self) -> None:
        for session in self.all_sessions:
            try:
                principal = self.um.validate_access_token(session.access_token)
            except InvalidTokenError:
                assert not session.alive
            else:
                assert session.alive
                assert principal.user.id == session.user.id

    @invariant()
    def login_asks_for_the_factor_exactly_when_it_is_on(self) -> None:
        for user in self._live():
            me = self.um.get_user(user.id, actor=SYSTEM)
            assert me.mfa_enabled == (user.totp_secret is not None)

    @invariant()
    def verification_and_pending_address_are_the_models(self) -> None:
        for user in self._live():
            me = self.um.get_user(user.id, actor=SYSTEM)
            assert me.email == Email.parse(user.email)
            assert me.email_verified == user.verified
            assert me.pending_email == (None if user.pending is None else Email.parse(user.pending))

    @invariant()
    def live_emails_are_unique(self) -> None:
        emails = [u.email for u in self._live()]
        assert len(emails) == len(set(emails))

    @invariant()
    def listings_visit_each_live_user_once(self) -> None:
        expected = sorted(u.id for u in self._live())
        paged = []
        page = 1
        while items := self.um.list_users(actor=SYSTEM, page=page, per_page=2).items:
            paged.extend(u.id for u in items)
            page += 1
        walked = []
        cursor: str | None = ""
        while cursor is not None:
            chunk = self.um.list_users_after(actor=SYSTEM, cursor=cursor, per_page=2)
            walked.extend(u.id for u in chunk.items)
            cursor = chunk.next_cursor
        assert sorted(paged) == expected
        assert sorted(walked) == expected
        assert len(paged) == len(walked) == self.um.list_users(actor=SYSTEM).total


SessionLifecycle.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_session_lifecycle = SessionLifecycle.TestCase
