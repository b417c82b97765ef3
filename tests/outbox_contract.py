"""The contract of the event outbox (``EventOutbox`` and ``OutboxStore``), for every adapter.

A subclass provides the ``outbox`` fixture: a unit of work and the outbox
store over the same storage. The in-memory subclass lives in ``tests/unit/``,
the PostgreSQL one in ``tests/integration/``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import anyio
import attrs
import pytest

from tests.contracts import NOW
from usermgmt.domain.events import (
    EVENT_TYPES,
    AccessDenied,
    AuditPurged,
    EmailChangeRequested,
    EmailVerified,
    Event,
    LoggedIn,
    LoggedOut,
    LoginFailed,
    LoginFailureReason,
    MailRequested,
    MfaDisabled,
    MfaEnabled,
    MfaFailed,
    MfaFailureReason,
    MfaReset,
    PasskeyAdded,
    PasskeyRemoved,
    PasswordChanged,
    PasswordReset,
    PasswordResetRequested,
    RecoveryCodesRegenerated,
    RecoveryCodeUsed,
    RefreshTokenReused,
    RequestContext,
    SessionsRevoked,
    TokenRefreshed,
    UserDeleted,
    UserRegistered,
    UserRestored,
    UserUpdated,
    VerificationRequested,
)
from usermgmt.domain.mail import MailKind
from usermgmt.domain.model import Role, SessionId, UserId
from usermgmt.ports import OutboxStore, UnitOfWork

LEASE = timedelta(minutes=1)

_USER = UserId(uuid.UUID("0b9d4a2e-8f43-4f55-9d3c-1f6c0d7e5a10"))
_ADMIN = UserId(uuid.UUID("6a1f2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b"))
_SESSION = SessionId(uuid.UUID("c3d2e1f0-a9b8-4c7d-8e6f-5a4b3c2d1e0f"))
_CONTEXT = RequestContext(ip="2001:db8::1", user_agent="Mozilla/5.0 (X11)", request_id="r-1")


def sample_events() -> list[Event]:
    """One event of every type, with every kind of field set."""
    at, ctx = NOW, _CONTEXT
    return [
        UserRegistered(at=at, context=ctx, user_id=_USER, role=Role.USER),
        UserRegistered(at=at, user_id=_USER, role=Role.ADMIN, actor_id=_ADMIN),
        LoggedIn(at=at, context=ctx, user_id=_USER, session_id=_SESSION),
        LoginFailed(at=at, context=ctx, reason=LoginFailureReason.UNKNOWN_EMAIL),
        LoginFailed(at=at, reason=LoginFailureReason.THROTTLED, user_id=_USER),
        TokenRefreshed(at=at, user_id=_USER, session_id=_SESSION),
        RefreshTokenReused(at=at, user_id=_USER, session_id=_SESSION, session_revoked=True),
        LoggedOut(at=at, user_id=_USER, session_id=_SESSION, all_sessions=True),
        SessionsRevoked(at=at, user_id=_USER, actor_id=None, count=3),
        PasswordChanged(at=at, user_id=_USER, actor_id=_USER, kept_session_id=_SESSION),
        PasswordResetRequested(at=at, context=ctx, email="ann@example.org"),
        PasswordReset(at=at, user_id=_USER),
        VerificationRequested(at=at, context=ctx, email="ann@example.org"),
        EmailVerified(at=at, user_id=_USER, email_changed=True),
        EmailChangeRequested(at=at, context=ctx, user_id=_USER),
        UserUpdated(
            at=at,
            user_id=_USER,
            actor_id=_ADMIN,
            changed=("role", "is_active"),
            role=Role.ADMIN,
            is_active=False,
        ),
        UserDeleted(at=at, user_id=_USER, actor_id=None),
        UserRestored(at=at, user_id=_USER, actor_id=_ADMIN),
        PasskeyAdded(at=at, context=ctx, user_id=_USER, passkey_id=_ADMIN, name="Laptop"),
        PasskeyRemoved(at=at, user_id=_USER, actor_id=_USER, passkey_id=_ADMIN),
        LoggedIn(at=at, user_id=_USER, session_id=_SESSION, amr=("hwk",)),
        LoginFailed(at=at, reason=LoginFailureReason.PASSKEY_COUNTER, user_id=_USER),
        MailRequested(
            at=at,
            context=ctx,
            kind=MailKind.VERIFY_EMAIL,
            to_address="zoë@exämple.org",
            to_name="Zoë",
            subject="Confirm your email address",
            text="Open http://127.0.0.1:8000/verify-email#token=abc\n",
            html="<p>Open it</p>",
        ),
        MailRequested(
            at=at,
            kind=MailKind.PASSWORD_CHANGED,
            to_address="ann@example.org",
            subject="Your password was changed",
            text="Hello\n",
        ),
        AccessDenied(at=at, context=ctx, actor_id=_USER, action="list users"),
        AccessDenied(at=at, actor_id=None, action="read another user", user_id=_ADMIN),
        AuditPurged(at=at, actor_id=None, before=at - timedelta(days=365), count=7),
        MfaEnabled(at=at, context=ctx, user_id=_USER, kept_session_id=_SESSION),
        MfaDisabled(at=at, user_id=_USER),
        MfaReset(at=at, user_id=_USER, actor_id=_ADMIN, sessions_ended=2),
        RecoveryCodeUsed(at=at, context=ctx, user_id=_USER, remaining=9),
        RecoveryCodesRegenerated(at=at, user_id=_USER),
        MfaFailed(at=at, context=ctx, reason=MfaFailureReason.REPLAYED_CODE, user_id=_USER),
        MfaFailed(at=at, reason=MfaFailureReason.INVALID_CHALLENGE),
    ]


def event(n: int = 0, *, seconds: float = 0) -> Event:
    """Return a distinct event (*n* tells it apart) that happened *seconds* after NOW."""
    return SessionsRevoked(
        at=NOW + timedelta(seconds=seconds), user_id=_USER, actor_id=None, count=n
    )


@attrs.frozen
class Outbox:
    """A unit of work and the outbox store over the same storage."""

    uow: UnitOfWork
    store: OutboxStore

    async def add(self, *events: Event) -> None:
        """Record *events* in one committed transaction."""
        async with self.uow() as tx:
            for item in events:
                await tx.outbox.add(item)


class OutboxContract:
    """What every outbox must do: store with the transaction, lease once, settle."""

    @pytest.fixture
    def outbox(self) -> Outbox:
        raise NotImplementedError

    def test_the_samples_cover_every_event_type(self) -> None:
        """The round-trip test below sees every type there is."""
        assert {type(e) for e in sample_events()} == set(EVENT_TYPES.values())

    async def test_every_event_type_reads_back_equal(self, outbox: Outbox) -> None:
        """What a use case records is what the subscriber gets, field for field."""
        events = sample_events()
        await outbox.add(*events)

        claimed = await outbox.store.claim(NOW, limit=100, lease=LEASE)

        assert [p.event for p in claimed] == events
        assert [p.type_name for p in claimed] == [type(e).__name__ for e in events]
        assert [p.attempts for p in claimed] == [1] * len(events)

    async def test_an_event_is_stored_only_if_its_transaction_commits(self, outbox: Outbox) -> None:
        """A transaction that raises takes its events with it; the next one keeps its own."""

        async def fail() -> None:
            async with outbox.uow() as tx:
                await tx.outbox.add(event(1))
                raise RuntimeError

        with pytest.raises(RuntimeError):
            await fail()
        await outbox.add(event(2))

        claimed = await outbox.store.claim(NOW, limit=10, lease=LEASE)

        assert [p.event for p in claimed] == [event(2)]

    async def test_no_claim_sees_an_event_before_its_transaction_commits(
        self, outbox: Outbox
    ) -> None:
        """A dispatcher cannot deliver an event whose change may still roll back."""
        async with outbox.uow() as tx:
            await tx.outbox.add(event(1))
            during = await outbox.store.claim(NOW, limit=10, lease=LEASE)

        after = await outbox.store.claim(NOW, limit=10, lease=LEASE)

        assert during == []
        assert [p.event for p in after] == [event(1)]

    async def test_a_standalone_event_is_stored_at_once(self, outbox: Outbox) -> None:
        """The failure path: an event recorded outside any transaction is stored on its own."""
        async with outbox.uow.standalone() as repos:
            await repos.outbox.add(event(1))

        claimed = await outbox.store.claim(NOW, limit=10, lease=LEASE)

        assert [p.event for p in claimed] == [event(1)]

    async def test_ids_increase_in_the_order_events_are_stored(self, outbox: Outbox) -> None:
        """The id tells the order of storing, and the claim returns oldest first."""
        await outbox.add(event(1))
        await outbox.add(event(2), event(3))

        claimed = await outbox.store.claim(NOW, limit=10, lease=LEASE)

        assert [p.event for p in claimed] == [event(1), event(2), event(3)]
        assert [p.id for p in claimed] == sorted({p.id for p in claimed})

    async def test_a_claim_takes_at_most_its_limit_and_leaves_the_rest(
        self, outbox: Outbox
    ) -> None:
        """The oldest *limit* events go to the first claim, the others to the next."""
        await outbox.add(*(event(n) for n in range(5)))

        first = await outbox.store.claim(NOW, limit=3, lease=LEASE)
        second = await outbox.store.claim(NOW, limit=3, lease=LEASE)

        assert [p.event for p in first] == [event(n) for n in range(3)]
        assert [p.event for p in second] == [event(3), event(4)]

    async def test_an_event_not_yet_happened_is_not_due(self, outbox: Outbox) -> None:
        """An event is due from the time it happened on."""
        await outbox.add(event(1, seconds=10))

        early = await outbox.store.claim(NOW, limit=10, lease=LEASE)
        due = await outbox.store.claim(NOW + timedelta(seconds=10), limit=10, lease=LEASE)

        assert early == []
        assert [p.event for p in due] == [event(1, seconds=10)]

    async def test_a_leased_event_is_claimed_again_only_after_its_lease(
        self, outbox: Outbox
    ) -> None:
        """A dispatcher that died mid-delivery leaves its events to others, a lease later."""
        await outbox.add(event(1))
        await outbox.store.claim(NOW, limit=10, lease=LEASE)

        during = await outbox.store.claim(NOW + LEASE - timedelta(seconds=1), limit=10, lease=LEASE)
        after = await outbox.store.claim(NOW + LEASE, limit=10, lease=LEASE)

        assert during == []
        assert [(p.event, p.attempts) for p in after] == [(event(1), 2)]

    async def test_a_delivered_event_is_never_claimed_again(self, outbox: Outbox) -> None:
        """Delivery settles the event for good, lease or not."""
        await outbox.add(event(1))
        (pending,) = await outbox.store.claim(NOW, limit=10, lease=LEASE)

        await outbox.store.delivered(pending.id, NOW)

        assert await outbox.store.claim(NOW + timedelta(days=1), limit=10, lease=LEASE) == []

    async def test_a_retried_event_is_due_again_at_its_time(self, outbox: Outbox) -> None:
        """A failed attempt makes the event due at the back-off's time, not before."""
        await outbox.add(event(1))
        (pending,) = await outbox.store.claim(NOW, limit=10, lease=LEASE)
        retry_at = NOW + timedelta(seconds=2)

        await outbox.store.retry(pending.id, at=retry_at, error="RuntimeError: down")

        before = await outbox.store.claim(retry_at - timedelta(seconds=1), limit=10, lease=LEASE)
        due = await outbox.store.claim(retry_at, limit=10, lease=LEASE)
        assert before == []
        assert [(p.id, p.attempts) for p in due] == [(pending.id, 2)]

    async def test_an_event_given_up_is_never_claimed_again(self, outbox: Outbox) -> None:
        """After the last attempt the event stays failed."""
        await outbox.add(event(1))
        (pending,) = await outbox.store.claim(NOW, limit=10, lease=LEASE)

        await outbox.store.give_up(pending.id, NOW, error="RuntimeError: down")
        await outbox.store.retry(pending.id, at=NOW, error="late")  # too late: stays failed

        assert await outbox.store.claim(NOW + timedelta(days=1), limit=10, lease=LEASE) == []

    async def test_purge_deletes_only_events_delivered_before_the_cut(self, outbox: Outbox) -> None:
        """Delivered events go once old; pending and failed ones stay."""
        await outbox.add(event(1), event(2), event(3), event(4))
        first, second, third, _ = await outbox.store.claim(NOW, limit=10, lease=LEASE)
        await outbox.store.delivered(first.id, NOW)
        await outbox.store.delivered(second.id, NOW + timedelta(hours=2))
        await outbox.store.give_up(third.id, NOW, error="gone")

        purged = await outbox.store.purge(NOW + timedelta(hours=1))

        assert purged == 1
        left = await outbox.store.claim(NOW + LEASE, limit=10, lease=LEASE)
        assert [p.event for p in left] == [event(4)]
        assert await outbox.store.purge(NOW + timedelta(hours=3)) == 1

    async def test_pending_counts_one_type_until_delivered_or_given_up(
        self, outbox: Outbox
    ) -> None:
        """Leased or not, an event is pending until it is delivered or given up."""
        mail = [e for e in sample_events() if isinstance(e, MailRequested)]
        await outbox.add(*mail, event(1))
        before = await outbox.store.pending("MailRequested")
        first, second, _ = await outbox.store.claim(NOW, limit=10, lease=LEASE)
        leased = await outbox.store.pending("MailRequested")

        await outbox.store.delivered(first.id, NOW)
        await outbox.store.give_up(second.id, NOW, error="gone")

        assert (before, leased) == (2, 2)
        assert await outbox.store.pending("MailRequested") == 0
        assert await outbox.store.pending("SessionsRevoked") == 1
        assert await outbox.store.pending("NoSuchEvent") == 0

    async def test_concurrent_claims_never_share_an_event(self, outbox: Outbox) -> None:
        """Claims racing on the same due events split them: each event goes to one claim."""
        await outbox.add(*(event(n) for n in range(40)))
        results: list[list[int]] = []

        async def claim() -> None:
            results.append([p.id for p in await outbox.store.claim(NOW, limit=7, lease=LEASE)])

        async with anyio.create_task_group() as tasks:
            for _ in range(8):
                tasks.start_soon(claim)

        ids = [i for batch in results for i in batch]
        assert len(ids) == len(set(ids)) == 40
