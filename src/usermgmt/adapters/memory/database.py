"""The shared state behind every in-memory unit of work: the tables, as dicts."""

from __future__ import annotations

from datetime import datetime

import anyio
import attrs

from usermgmt.adapters.memory.audit import InMemoryAuditTable
from usermgmt.adapters.memory.journal import OrderKey
from usermgmt.adapters.memory.outbox import InMemoryOutbox
from usermgmt.domain.credentials import (
    CredentialId,
    PasswordCredential,
    RecoveryCode,
    TotpCredential,
)
from usermgmt.domain.devices import DeviceToken
from usermgmt.domain.model import RefreshToken, Session, SessionId, User, UserId
from usermgmt.domain.onetime import OneTimeToken, Purpose
from usermgmt.domain.passkeys import Ceremony, CeremonyId, PasskeyCredential
from usermgmt.domain.rules.throttle import FailureRecord


@attrs.define
class InMemoryDatabase:
    """The shared state behind every in-memory unit of work."""

    users: dict[UserId, User] = attrs.Factory(dict)
    live_emails: dict[str, UserId] = attrs.Factory(dict)
    """Live users by email key (``Email.key``): the partial unique index of PostgreSQL."""
    order: list[OrderKey] = attrs.Factory(list)
    credentials: dict[CredentialId, PasswordCredential] = attrs.Factory(dict)
    passwords: dict[UserId, CredentialId] = attrs.Factory(dict)
    """Each user's password: the partial unique index of PostgreSQL."""
    passkeys: dict[CredentialId, PasskeyCredential] = attrs.Factory(dict)
    """Passkeys by id (their credential IDs are unique, as PostgreSQL's index makes them)."""
    ceremonies: dict[CeremonyId, Ceremony] = attrs.Factory(dict)
    totps: dict[UserId, TotpCredential] = attrs.Factory(dict)
    """Each user's TOTP key, at most one (the partial unique index of PostgreSQL)."""
    recovery_codes: dict[tuple[UserId, str], RecoveryCode] = attrs.Factory(dict)
    """Recovery codes by user and digest."""
    sessions: dict[SessionId, Session] = attrs.Factory(dict)
    tokens: dict[bytes, RefreshToken] = attrs.Factory(dict)
    devices: dict[bytes, DeviceToken] = attrs.Factory(dict)
    one_time_tokens: dict[bytes, OneTimeToken] = attrs.Factory(dict)
    one_time_windows: dict[tuple[UserId, Purpose], IssueWindow] = attrs.Factory(dict)
    """Each user's live token of a purpose, with the count of its quota."""
    counters: dict[str, StoredCounter] = attrs.Factory(dict)
    outbox: InMemoryOutbox = attrs.Factory(InMemoryOutbox)
    audit: InMemoryAuditTable = attrs.Factory(InMemoryAuditTable)
    lock: anyio.Lock | None = None

    def transaction_lock(self) -> anyio.Lock:
        """Return the lock that serializes transactions (made in the running loop)."""
        if self.lock is None:
            self.lock = anyio.Lock()
        return self.lock


@attrs.frozen(kw_only=True)
class IssueWindow:
    """A user's live one-time token of a purpose, and how many were issued since *started_at*."""

    token_hash: bytes
    started_at: datetime
    issued: int


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
