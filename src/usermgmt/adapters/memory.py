"""In-memory storage: a real implementation of the storage ports, without a database.

For unit tests and for embedders who want no database. It honours the same
contract as PostgreSQL (the same test suite runs against both): unique emails
among live users, serialized transactions that roll back on error, single-use
refresh tokens. State lives in one process and one event loop.
"""

from __future__ import annotations

import bisect
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import TypeVar
from uuid import UUID

import anyio
import attrs

from usermgmt.adapters.memory_outbox import InMemoryEventOutbox, InMemoryOutbox
from usermgmt.domain.devices import DeviceToken
from usermgmt.domain.errors import EmailTakenError
from usermgmt.domain.model import (
    Email,
    RefreshToken,
    Session,
    SessionId,
    SpendOutcome,
    User,
    UserId,
)
from usermgmt.domain.rules.listing import ListPosition
from usermgmt.domain.rules.throttle import FailureRecord, LoginAttempt, Reservation

K = TypeVar("K")
V = TypeVar("V")
_MISSING = object()

_OrderKey = tuple[datetime, UUID]


class _Journal:
    """Undo log of one transaction: every write records how to take it back."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    def put(self, table: dict[K, V], key: K, value: V) -> None:
        old = table.get(key, _MISSING)
        self._undo.append(lambda: _restore(table, key, old))
        table[key] = value

    def pop(self, table: dict[K, V], key: K) -> None:
        old = table.pop(key, _MISSING)
        self._undo.append(lambda: _restore(table, key, old))

    def insort(self, ordered: list[_OrderKey], item: _OrderKey) -> None:
        bisect.insort(ordered, item)
        self._undo.append(lambda: ordered.remove(item))

    def rollback(self) -> None:
        while self._undo:
            self._undo.pop()()


def _restore(table: dict[K, V], key: K, old: object) -> None:
    if old is _MISSING:
        table.pop(key, None)
    else:
        table[key] = old  # type: ignore[assignment]  # old came out of this very table


@attrs.define
class InMemoryDatabase:
    """The shared state behind every in-memory unit of work."""

    users: dict[UserId, User] = attrs.Factory(dict)
    live_emails: dict[str, UserId] = attrs.Factory(dict)
    """Live users by email key (``Email.key``): the partial unique index of PostgreSQL."""
    order: list[_OrderKey] = attrs.Factory(list)
    sessions: dict[SessionId, Session] = attrs.Factory(dict)
    tokens: dict[bytes, RefreshToken] = attrs.Factory(dict)
    devices: dict[bytes, DeviceToken] = attrs.Factory(dict)
    counters: dict[str, StoredCounter] = attrs.Factory(dict)
    outbox: InMemoryOutbox = attrs.Factory(InMemoryOutbox)
    lock: anyio.Lock | None = None

    def transaction_lock(self) -> anyio.Lock:
        """Return the lock that serializes transactions (made in the running loop)."""
        if self.lock is None:
            self.lock = anyio.Lock()
        return self.lock


class InMemoryUserRepository:
    """Users in a dict, with an email index and a creation-order index."""

    def __init__(self, db: InMemoryDatabase, journal: _Journal) -> None:
        """Work on *db*, recording every change in *journal*."""
        self._db = db
        self._journal = journal

    def _claim_email(self, user: User) -> None:
        holder = self._db.live_emails.get(user.email.key)
        if holder is not None and holder != user.id:
            raise EmailTakenError(user.email.value)
        self._journal.put(self._db.live_emails, user.email.key, user.id)

    async def add(self, user: User) -> None:
        """Store a new user (see ``UserRepository.add``)."""
        if user.id in self._db.users:
            msg = f"user {user.id} exists"
            raise ValueError(msg)
        if not user.is_deleted:
            self._claim_email(user)
        self._journal.put(self._db.users, user.id, user)
        self._journal.insort(self._db.order, (user.created_at, user.id))

    async def get(
        self, user_id: UserId, *, include_deleted: bool = False, for_update: bool = False
    ) -> User | None:
        """Return the user (see ``UserRepository.get``); transactions are serialized already."""
        del for_update
        user = self._db.users.get(user_id)
        if user is None or (user.is_deleted and not include_deleted):
            return None
        return user

    async def get_by_email(self, email: Email, *, include_deleted: bool = False) -> User | None:
        """Return the live user with *email*, or the latest deleted one if asked."""
        user_id = self._db.live_emails.get(email.key)
        if user_id is not None:
            return self._db.users[user_id]
        if not include_deleted:
            return None
        deleted = [u for u in self._db.users.values() if u.email.key == email.key and u.deleted_at]
        return max(deleted, key=lambda u: (u.deleted_at, u.created_at), default=None)

    async def update(self, user: User) -> None:
        """Replace the stored user (see ``UserRepository.update``)."""
        old = self._db.users[user.id]
        if not user.is_deleted:
            self._claim_email(user)
        if not old.is_deleted and (user.is_deleted or old.email.key != user.email.key):
            self._journal.pop(self._db.live_emails, old.email.key)
            if not user.is_deleted:
                self._journal.put(self._db.live_emails, user.email.key, user.id)
        self._journal.put(self._db.users, user.id, user)

    async def replace_password_hash(self, user_id: UserId, old: str, new: str) -> bool:
        """Swap the hash if it is still *old*."""
        user = self._db.users.get(user_id)
        if user is None or user.password_hash != old:
            return False
        self._journal.put(self._db.users, user_id, attrs.evolve(user, password_hash=new))
        return True

    async def count_active_admins(self, *, lock: bool = False) -> int:
        """Count active live admins."""
        del lock
        return sum(1 for u in self._db.users.values() if u.is_active_admin)

    async def count(self, *, include_deleted: bool = False) -> int:
        """Count users (live ones unless *include_deleted*)."""
        return len(self._db.users) if include_deleted else len(self._db.live_emails)

    def _ordered(self, start: int, *, include_deleted: bool) -> Sequence[User]:
        users = (self._db.users[UserId(uid)] for _, uid in self._db.order[start:])
        return [u for u in users if include_deleted or not u.is_deleted]

    async def page(
        self, *, offset: int, limit: int, include_deleted: bool = False, newest_first: bool = False
    ) -> Sequence[User]:
        """Return a slice of users in creation order (or its reverse)."""
        ordered = self._ordered(0, include_deleted=include_deleted)
        if newest_first:
            ordered = ordered[::-1]
        return ordered[offset : offset + limit]

    async def after(
        self, position: ListPosition | None, *, limit: int, include_deleted: bool = False
    ) -> Sequence[User]:
        """Return users created after *position*, in creation order."""
        start = 0
        if position is not None:
            start = bisect.bisect_right(self._db.order, (position.created_at, position.user_id))
        return self._ordered(start, include_deleted=include_deleted)[:limit]


class InMemorySessionStore:
    """Sessions and refresh tokens in dicts."""

    def __init__(self, db: InMemoryDatabase, journal: _Journal) -> None:
        """Work on *db*, recording every change in *journal*."""
        self._db = db
        self._journal = journal

    async def add(self, session: Session, token: RefreshToken) -> None:
        """Store a new session and its first refresh token."""
        self._journal.put(self._db.sessions, session.id, session)
        await self.add_token(token)

    async def get(self, session_id: SessionId) -> Session | None:
        """Return the session, or ``None``."""
        return self._db.sessions.get(session_id)

    async def spend(self, token_hash: bytes, now: datetime) -> SpendOutcome | None:
        """Spend the token once (see ``SessionStore.spend``)."""
        token = self._db.tokens.get(token_hash)
        if token is None:
            return None
        if token.spent_at is not None:
            return SpendOutcome(token=token, spent_now=False)
        spent = attrs.evolve(token, spent_at=now)
        self._journal.put(self._db.tokens, token_hash, spent)
        return SpendOutcome(token=spent, spent_now=True)

    async def add_token(self, token: RefreshToken) -> None:
        """Store a refresh token."""
        self._journal.put(self._db.tokens, token.token_hash, token)

    async def revoke(self, session_id: SessionId, now: datetime) -> None:
        """End one session."""
        session = self._db.sessions.get(session_id)
        if session is not None and session.revoked_at is None:
            self._journal.put(self._db.sessions, session_id, attrs.evolve(session, revoked_at=now))

    async def revoke_all(
        self, user_id: UserId, now: datetime, *, keep: SessionId | None = None
    ) -> int:
        """End every live session of the user but *keep*."""
        ended = [
            s
            for s in self._db.sessions.values()
            if s.user_id == user_id and s.id != keep and s.revoked_at is None and now < s.expires_at
        ]
        for session in ended:
            self._journal.put(self._db.sessions, session.id, attrs.evolve(session, revoked_at=now))
        return len(ended)

    async def live_user(self, session_id: SessionId, user_id: UserId, now: datetime) -> User | None:
        """Return the user if the session and the user are live."""
        session = self._db.sessions.get(session_id)
        if session is None or session.user_id != user_id or not session.is_live(now):
            return None
        user = self._db.users.get(user_id)
        return user if user is not None and user.can_sign_in else None

    async def purge(self, before: datetime) -> int:
        """Forget sessions that ended before *before*, with their tokens."""
        gone = {
            s.id
            for s in self._db.sessions.values()
            if s.expires_at < before or (s.revoked_at is not None and s.revoked_at < before)
        }
        for session_id in gone:
            self._journal.pop(self._db.sessions, session_id)
        for token_hash in [h for h, t in self._db.tokens.items() if t.session_id in gone]:
            self._journal.pop(self._db.tokens, token_hash)
        return len(gone)


class InMemoryDeviceTokenStore:
    """Device tokens in a dict keyed by their digest."""

    def __init__(self, db: InMemoryDatabase, journal: _Journal) -> None:
        """Work on *db*, recording every change in *journal*."""
        self._db = db
        self._journal = journal

    async def add(self, token: DeviceToken, *, replacing: bytes | None = None) -> None:
        """Store *token*, forgetting *replacing*."""
        if replacing is not None:
            self._journal.pop(self._db.devices, replacing)
        self._journal.put(self._db.devices, token.token_hash, token)

    async def get(self, token_hash: bytes, now: datetime) -> DeviceToken | None:
        """Return the token if it is stored and unexpired."""
        token = self._db.devices.get(token_hash)
        return token if token is not None and now < token.expires_at else None

    async def revoke_all(self, user_id: UserId) -> int:
        """Forget the user's tokens."""
        gone = [h for h, t in self._db.devices.items() if t.user_id == user_id]
        for token_hash in gone:
            self._journal.pop(self._db.devices, token_hash)
        return len(gone)

    async def purge(self, before: datetime) -> int:
        """Forget tokens that expired before *before*."""
        gone = [h for h, t in self._db.devices.items() if t.expires_at < before]
        for token_hash in gone:
            self._journal.pop(self._db.devices, token_hash)
        return len(gone)


@attrs.frozen
class InMemoryRepositories:
    """The repositories of one in-memory unit of work."""

    users: InMemoryUserRepository
    sessions: InMemorySessionStore
    devices: InMemoryDeviceTokenStore
    outbox: InMemoryEventOutbox


class InMemoryUnitOfWork:
    """Serialized transactions over an :class:`InMemoryDatabase`, undone on error."""

    def __init__(self, db: InMemoryDatabase | None = None) -> None:
        """Work on *db* (a new, empty one by default)."""
        self.db = db or InMemoryDatabase()

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[InMemoryRepositories]:
        """Run one transaction: its changes are undone if the block raises."""
        async with self.db.transaction_lock():
            journal = _Journal()
            try:
                yield InMemoryRepositories(
                    InMemoryUserRepository(self.db, journal),
                    InMemorySessionStore(self.db, journal),
                    InMemoryDeviceTokenStore(self.db, journal),
                    InMemoryEventOutbox(self.db.outbox, journal),
                )
            except BaseException:
                journal.rollback()
                raise

    def standalone(self) -> AbstractAsyncContextManager[InMemoryRepositories]:
        """Open a scope; in memory it is simply a transaction, which is stricter."""
        return self()


@attrs.frozen(kw_only=True)
class StoredCounter:
    """One failure counter as the in-memory store keeps it."""

    account: str
    failures: int
    last_failure_at: datetime
    previous_failure_at: datetime | None = None
    """The last failure before the latest reservation, restored if it is released."""

    def record(self) -> FailureRecord | None:
        """Return what the counter holds, ``None`` when it holds no failure."""
        if self.failures == 0:
            return None
        return FailureRecord(failures=self.failures, last_failure_at=self.last_failure_at)


class InMemoryLoginAttemptStore:
    """Failed-login counters in a dict.

    Each method runs without awaiting between its check and its write, so on
    the one event loop that owns the store every call is atomic.
    """

    def __init__(self, db: InMemoryDatabase | None = None) -> None:
        """Keep the counters in *db* (a new one by default)."""
        self._db = db or InMemoryDatabase()

    async def reserve(self, attempt: LoginAttempt, now: datetime) -> Reservation:
        """Admit and count *attempt*, or refuse it (see ``LoginAttemptStore.reserve``)."""
        counters = self._db.counters
        found = [counters.get(c.key) for c in attempt.counters]
        records = tuple(c.record() if c else None for c in found)
        if any(attempt.waits(records, now)):
            return Reservation(admitted=False, records=records)
        stale_before = attempt.schedule.stale_before(now)
        for counter, old in zip(attempt.counters, found, strict=True):
            fresh = old is None or old.last_failure_at < stale_before
            counters[counter.key] = StoredCounter(
                account=attempt.account,
                failures=1 if old is None or fresh else old.failures + 1,
                last_failure_at=now,
                previous_failure_at=None if old is None else old.last_failure_at,
            )
        return Reservation(
            admitted=True, records=tuple(counters[c.key].record() for c in attempt.counters)
        )

    async def release(self, attempt: LoginAttempt, reserved_at: datetime) -> None:
        """Take back one reserved failure under each counter of *attempt*."""
        for counter in attempt.counters:
            old = self._db.counters.get(counter.key)
            if old is None:
                continue
            latest = old.last_failure_at == reserved_at  # no later reservation moved it
            self._db.counters[counter.key] = attrs.evolve(
                old,
                failures=max(old.failures - 1, 0),
                last_failure_at=(old.previous_failure_at if latest else None)
                or old.last_failure_at,
                previous_failure_at=None if latest else old.previous_failure_at,
            )

    async def clear(self, attempt: LoginAttempt) -> None:
        """Forget the counters of *attempt*."""
        for counter in attempt.counters:
            self._db.counters.pop(counter.key, None)

    async def clear_account(self, account: str) -> None:
        """Forget every counter of *account*."""
        for key in [k for k, c in self._db.counters.items() if c.account == account]:
            del self._db.counters[key]

    async def purge(self, before: datetime) -> int:
        """Forget counters idle since before *before*."""
        stale = [k for k, c in self._db.counters.items() if c.last_failure_at < before]
        for key in stale:
            del self._db.counters[key]
        return len(stale)


class InMemoryServiceSecrets:
    """The service's own keys, made on first use and kept as long as this object."""

    def __init__(self) -> None:
        """Start with no keys."""
        self._keys: dict[str, bytes] = {}

    async def secret(self, purpose: str) -> bytes:
        """Return the key for *purpose*, making it on first use."""
        return self._keys.setdefault(purpose, secrets.token_bytes(32))
