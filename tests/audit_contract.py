"""The contract of the audit log (``AuditLog``, and the rows ``EventOutbox.add`` writes).

A subclass provides the ``uow`` fixture. The in-memory subclass lives in
``tests/unit/``, the PostgreSQL one (with the trigger's tests) in
``tests/integration/``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.contracts import NOW
from tests.outbox_contract import sample_events
from usermgmt.domain.audit import (
    AuditEntry,
    AuditFilter,
    AuditOutcome,
    AuditPosition,
    audit_entries,
)
from usermgmt.domain.events import (
    AccessDenied,
    Event,
    LoggedIn,
    LoginFailed,
    LoginFailureReason,
    RequestContext,
    SessionsRevoked,
    UserUpdated,
)
from usermgmt.domain.model import Role, SessionId, UserId
from usermgmt.ports import UnitOfWork

ANN = UserId(uuid.UUID("11111111-1111-4111-8111-111111111111"))
BOB = UserId(uuid.UUID("22222222-2222-4222-8222-222222222222"))
SESSION = SessionId(uuid.UUID("33333333-3333-4333-8333-333333333333"))
CONTEXT = RequestContext(ip="203.0.113.9", user_agent="curl/8.5", request_id="req-42")


def revoked(user: UserId, seconds: float) -> Event:
    """An audited event about *user* that happened *seconds* after NOW."""
    return SessionsRevoked(
        at=NOW + timedelta(seconds=seconds), user_id=user, actor_id=None, count=1
    )


def _without_id(entry: AuditEntry) -> AuditEntry:
    return AuditEntry(
        at=entry.at,
        type=entry.type,
        outcome=entry.outcome,
        actor_id=entry.actor_id,
        user_id=entry.user_id,
        session_id=entry.session_id,
        context=entry.context,
        details=entry.details,
    )


class AuditLogContract:
    """What every audit log must do: rows with the change, newest-first keyset pages, purge."""

    @pytest.fixture
    def uow(self) -> UnitOfWork:
        raise NotImplementedError

    async def add(self, uow: UnitOfWork, *events: Event) -> None:
        async with uow() as tx:
            for item in events:
                await tx.outbox.add(item)

    async def rows(self, uow: UnitOfWork, matching: AuditFilter | None = None) -> list[AuditEntry]:
        async with uow.standalone() as repos:
            return list(await repos.audit.page(matching or AuditFilter(), None, limit=1000))

    async def test_every_event_writes_its_rows_as_they_read_back(self, uow: UnitOfWork) -> None:
        """Each sample event's rows are stored field for field, numbered, in order."""
        events = sample_events()
        await self.add(uow, *events)

        rows = await self.rows(uow)

        expected = [entry for e in events for entry in audit_entries(e)]
        # Newest first by (at, id): the samples share one time, so by id, descending.
        assert [_without_id(r) for r in reversed(rows)] == expected
        ids = [r.id for r in rows]
        assert all(isinstance(i, int) for i in ids)
        assert ids == sorted(ids, reverse=True)  # type: ignore[type-var]
        assert len(set(ids)) == len(ids)

    async def test_rows_are_written_only_if_the_transaction_commits(self, uow: UnitOfWork) -> None:
        """A change that rolls back leaves no row; the next one leaves its own."""

        async def fail() -> None:
            async with uow() as tx:
                await tx.outbox.add(revoked(ANN, 0))
                raise RuntimeError

        with pytest.raises(RuntimeError):
            await fail()
        await self.add(uow, revoked(BOB, 1))

        assert [r.user_id for r in await self.rows(uow)] == [BOB]

    async def test_a_standalone_failure_is_written_on_its_own(self, uow: UnitOfWork) -> None:
        """A failed login, recorded outside any transaction, is stored at once."""
        failed = LoginFailed(
            at=NOW, context=CONTEXT, reason=LoginFailureReason.WRONG_PASSWORD, user_id=ANN
        )
        async with uow.standalone() as repos:
            await repos.outbox.add(failed)

        (row,) = await self.rows(uow)

        assert row.type == "login_failed"
        assert row.outcome is AuditOutcome.FAILURE
        assert row.user_id == ANN
        assert row.actor_id is None
        assert row.context == CONTEXT
        assert row.details == {"reason": "wrong_password"}

    async def test_pages_walk_newest_first_and_see_each_row_once(self, uow: UnitOfWork) -> None:
        """Keyset pages over rows sharing a time as well as rows apart."""
        events = [revoked(ANN, s) for s in (0, 0, 0, 1, 2, 2, 3)]
        await self.add(uow, *events)
        everything = await self.rows(uow)

        seen: list[AuditEntry] = []
        after = None
        while True:
            async with uow.standalone() as repos:
                page = list(await repos.audit.page(AuditFilter(), after, limit=2))
            if not page:
                break
            seen.extend(page)
            after = AuditPosition(at=page[-1].at, id=page[-1].id or 0)

        assert seen == everything
        assert [r.at for r in seen] == sorted((e.at for e in events), reverse=True)

    async def test_a_page_stays_the_same_while_rows_are_added(self, uow: UnitOfWork) -> None:
        """Rows newer than a walk's position do not shift the pages after it."""
        await self.add(uow, *(revoked(ANN, s) for s in range(5)))
        async with uow.standalone() as repos:
            first = list(await repos.audit.page(AuditFilter(), None, limit=2))
            position = AuditPosition(at=first[-1].at, id=first[-1].id or 0)
            before = list(await repos.audit.page(AuditFilter(), position, limit=2))
        await self.add(uow, revoked(ANN, 10), revoked(BOB, 11))
        async with uow.standalone() as repos:
            after = list(await repos.audit.page(AuditFilter(), position, limit=2))

        assert after == before

    async def test_filters_by_user_type_and_time(self, uow: UnitOfWork) -> None:
        """Each filter narrows; *since* is inclusive, *until* exclusive."""
        login = LoggedIn(at=NOW + timedelta(seconds=5), user_id=ANN, session_id=SESSION)
        await self.add(uow, revoked(ANN, 0), revoked(BOB, 1), revoked(ANN, 2), login)

        by_ann = await self.rows(uow, AuditFilter(user_id=ANN))
        by_type = await self.rows(uow, AuditFilter(type="login_succeeded"))
        window = await self.rows(
            uow,
            AuditFilter(since=NOW + timedelta(seconds=1), until=NOW + timedelta(seconds=5)),
        )
        both = await self.rows(uow, AuditFilter(user_id=ANN, type="sessions_revoked"))

        assert [r.at - NOW for r in by_ann] == [timedelta(seconds=s) for s in (5, 2, 0)]
        assert [(r.type, r.session_id, r.actor_id) for r in by_type] == [
            ("login_succeeded", SESSION, ANN)
        ]
        assert [r.at - NOW for r in window] == [timedelta(seconds=s) for s in (2, 1)]
        assert [r.at - NOW for r in both] == [timedelta(seconds=s) for s in (2, 0)]
        assert await self.rows(uow, AuditFilter(type="nothing_like_it")) == []

    async def test_purge_deletes_only_older_rows(self, uow: UnitOfWork) -> None:
        """Rows before the bound go; the rest stay, unchanged."""
        await self.add(uow, *(revoked(ANN, s) for s in range(4)))
        kept = [r for r in await self.rows(uow) if r.at >= NOW + timedelta(seconds=2)]

        async with uow() as tx:
            assert await tx.audit.purge(NOW + timedelta(seconds=2)) == 2

        assert await self.rows(uow) == kept

    async def test_a_purge_rolls_back_with_its_transaction(self, uow: UnitOfWork) -> None:
        """A purge in a transaction that fails deletes nothing."""
        await self.add(uow, revoked(ANN, 0), revoked(ANN, 1))
        rows = await self.rows(uow)

        async def fail() -> None:
            async with uow() as tx:
                await tx.audit.purge(NOW + timedelta(days=1))
                raise RuntimeError

        with pytest.raises(RuntimeError):
            await fail()

        assert await self.rows(uow) == rows

    async def test_a_user_update_writes_one_row_per_kind_of_change(self, uow: UnitOfWork) -> None:
        """Role and activation are separate rows an operator can filter on."""
        update = UserUpdated(
            at=NOW,
            context=CONTEXT,
            user_id=ANN,
            actor_id=BOB,
            changed=("role", "is_active"),
            role=Role.ADMIN,
            is_active=False,
        )
        await self.add(uow, update)

        rows = list(reversed(await self.rows(uow)))

        assert [(r.type, r.details) for r in rows] == [
            ("role_changed", {"role": "admin"}),
            ("user_deactivated", {}),
        ]
        assert {(r.actor_id, r.user_id, r.context) for r in rows} == {(BOB, ANN, CONTEXT)}

    async def test_a_refusal_is_a_denied_row(self, uow: UnitOfWork) -> None:
        """An access refusal names who asked, the account it named and the action."""
        async with uow.standalone() as repos:
            await repos.outbox.add(
                AccessDenied(at=NOW, actor_id=ANN, action="list users", user_id=BOB)
            )

        (row,) = await self.rows(uow)

        assert (row.type, row.outcome, row.actor_id, row.user_id, row.details) == (
            "access_denied",
            AuditOutcome.DENIED,
            ANN,
            BOB,
            {"action": "list users"},
        )
