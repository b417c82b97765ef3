"""Storage in the unit of work: users, credentials, sessions, tokens, transactions.

A little over 300 lines: every store a unit of work hands out, and
``Repositories`` naming them, read together; each is a short Protocol.

The login throttle's counters, which live outside any transaction, are
:mod:`usermgmt.ports.throttle`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from usermgmt.domain.credentials import (
    CredentialId,
    PasswordCredential,
    RecoveryCode,
    TotpCredential,
)
from usermgmt.domain.devices import DeviceToken
from usermgmt.domain.model import (
    Email,
    RefreshToken,
    Session,
    SessionId,
    SpendOutcome,
    User,
    UserId,
)
from usermgmt.domain.onetime import IssueQuota, OneTimeToken, Purpose
from usermgmt.domain.passkeys import Ceremony, CeremonyId, CeremonyKind, PasskeyCredential
from usermgmt.domain.rules.listing import ListPosition
from usermgmt.ports.audit import AuditLog
from usermgmt.ports.events import EventOutbox


class UserRepository(Protocol):
    """Users, live and soft-deleted."""

    async def add(self, user: User) -> None:
        """Store a new user.

        Raises:
            EmailTakenError: a live user already has this email.
        """
        ...

    async def get(
        self, user_id: UserId, *, include_deleted: bool = False, for_update: bool = False
    ) -> User | None:
        """Return the user with *user_id*, or ``None``.

        *for_update* locks the row until the transaction ends.
        """
        ...

    async def get_by_email(self, email: Email, *, include_deleted: bool = False) -> User | None:
        """Return the live user with *email*, or ``None``.

        With *include_deleted*, a deleted user is returned when no live user has
        the email: the one deleted most recently.
        """
        ...

    async def update(self, user: User) -> None:
        """Replace the stored user that has ``user.id``.

        Raises:
            EmailTakenError: the new email, or a restored user's email, belongs
                to another live user.
        """
        ...

    async def count_active_admins(self, *, lock: bool = False) -> int:
        """Return how many active, live admins there are.

        *lock* holds their rows until the transaction ends, so that two
        transactions cannot both remove "the other" last admin.
        """
        ...

    async def count(self, *, include_deleted: bool = False) -> int:
        """Return how many users there are, without scanning them."""
        ...

    async def page(
        self, *, offset: int, limit: int, include_deleted: bool = False, newest_first: bool = False
    ) -> Sequence[User]:
        """Return up to *limit* users after skipping *offset*, oldest first.

        With *newest_first*, the order (and so the skipping) starts from the newest.
        """
        ...

    async def after(
        self, position: ListPosition | None, *, limit: int, include_deleted: bool = False
    ) -> Sequence[User]:
        """Return up to *limit* users created after *position* (``None``: start), oldest first."""
        ...


class CredentialStore(Protocol):
    """What users prove who they are with, apart from the users: a password, TOTP, recovery codes.

    Every credential belongs to one user and goes when the user's row does.
    """

    async def add_password(self, credential: PasswordCredential) -> None:
        """Store the first password of ``credential.user_id``.

        Raises:
            ValueError: that user has a password already (change it instead).
        """
        ...

    async def password(
        self, user_id: UserId, *, for_update: bool = False
    ) -> PasswordCredential | None:
        """Return the password of user *user_id*, or ``None`` when they have none.

        *for_update* locks it until the transaction ends.
        """
        ...

    async def for_login(self, email: Email) -> tuple[User, PasswordCredential | None] | None:
        """Return the live user with *email* and their password, or ``None`` for no such user.

        One round trip: a login reads nothing else before it verifies.
        """
        ...

    async def change_password(self, credential: PasswordCredential) -> None:
        """Store *credential*'s new hash and change time over the stored ones (same id)."""
        ...

    async def replace_password_hash(self, credential_id: CredentialId, old: str, new: str) -> bool:
        """Swap *old* for *new* if *old* is still the stored hash; return whether it was.

        The re-hash of a proven password with new parameters: the change time
        stays, and a password changed meanwhile is never overwritten.
        """
        ...

    async def mark_used(self, credential_id: CredentialId, now: datetime) -> None:
        """Record that credential *credential_id* signed its user in at *now*."""
        ...

    async def add_passkey(self, passkey: PasskeyCredential) -> bool:
        """Store a new passkey; return False, storing nothing, if its credential ID is taken."""
        ...

    async def passkeys(self, user_id: UserId) -> list[PasskeyCredential]:
        """Return the passkeys of user *user_id*, oldest first."""
        ...

    async def passkey_for_login(
        self, credential_id: bytes
    ) -> tuple[User, PasskeyCredential] | None:
        """Return the live user holding the passkey with *credential_id*, and the passkey.

        ``None`` when no passkey has that ID or its user is deleted. One round trip.
        """
        ...

    async def update_passkey_counter(
        self,
        credential_id: CredentialId,
        *,
        expected: int,
        sign_count: int,
        backed_up: bool,
        now: datetime,
    ) -> bool:
        """Set the passkey's counter to *sign_count* if it is still *expected*; return whether.

        Compare-and-set: of two assertions with the same counter, one wins.
        *backed_up* is the state the assertion reported, kept from *now* on.
        """
        ...

    async def remove_passkey(self, user_id: UserId, passkey_id: CredentialId) -> bool:
        """Forget the passkey *passkey_id* of user *user_id*; return whether there was one."""
        ...

    async def totp(self, user_id: UserId, *, for_update: bool = False) -> TotpCredential | None:
        """Return the TOTP key of user *user_id*, pending or confirmed, or ``None``.

        *for_update* locks it until the transaction ends.
        """
        ...

    async def set_totp(self, credential: TotpCredential) -> None:
        """Store *credential* as its user's TOTP key, replacing the one they had, if any."""
        ...

    async def confirm_totp(self, credential_id: CredentialId, step: int, now: datetime) -> bool:
        """Turn pending key *credential_id* on, its code of *step* accepted; return whether it was.

        A compare-and-set: ``False``, and no change, when the key is gone or
        already confirmed.
        """
        ...

    async def accept_totp_step(self, credential_id: CredentialId, step: int, now: datetime) -> bool:
        """Accept confirmed key *credential_id*'s code of time step *step*, at most once.

        A compare-and-set in one statement: the stored last step becomes *step*
        only if it is earlier, so of two uses of one code at once, exactly one
        returns ``True``. The key counts as used at *now*.
        """
        ...

    async def replace_recovery_codes(self, user_id: UserId, codes: Sequence[RecoveryCode]) -> None:
        """Make *codes* the recovery codes of *user_id*: every earlier one is void."""
        ...

    async def spend_recovery_code(self, user_id: UserId, code_hash: str) -> bool:
        """Forget *user_id*'s recovery code stored under *code_hash*; return whether there was one.

        One atomic statement: of two uses of one code at once, exactly one is ``True``.
        """
        ...

    async def count_recovery_codes(self, user_id: UserId) -> int:
        """Return how many unused recovery codes *user_id* has."""
        ...

    async def remove_second_factors(self, user_id: UserId) -> int:
        """Forget *user_id*'s TOTP key and recovery codes; return how many credentials went."""
        ...


class CeremonyStore(Protocol):
    """The challenges of passkey ceremonies in progress, each answerable once."""

    async def add(self, ceremony: Ceremony) -> None:
        """Store a new ceremony."""
        ...

    async def spend(
        self, ceremony_id: CeremonyId, kind: CeremonyKind, now: datetime
    ) -> Ceremony | None:
        """Return the live ceremony *ceremony_id* of *kind*, and forget it, in one step.

        ``None``, and nothing changes, when there is none or it expired by *now*.
        Of two spends at once, exactly one returns it.
        """
        ...

    async def purge(self, before: datetime) -> int:
        """Forget ceremonies that expired before *before*; return how many."""
        ...


class SessionStore(Protocol):
    """Sessions and the refresh tokens issued for them."""

    async def add(self, session: Session, token: RefreshToken) -> None:
        """Store a new session with its first refresh token."""
        ...

    async def get(self, session_id: SessionId) -> Session | None:
        """Return the session with *session_id*, or ``None``."""
        ...

    async def spend(self, token_hash: bytes, now: datetime) -> SpendOutcome | None:
        """Mark the refresh token *token_hash* spent at *now*, once.

        Returns the token with ``spent_now`` true for the one caller that spent
        it (concurrent callers are serialized), the already-spent token with
        ``spent_now`` false for everyone else, and ``None`` for an unknown hash.
        """
        ...

    async def add_token(self, token: RefreshToken) -> None:
        """Store a further refresh token of an existing session (a refresh).

        The session counts as used when the token was issued: its
        ``last_used_at`` becomes the token's ``issued_at``.
        """
        ...

    async def list_live(self, user_id: UserId, now: datetime, *, limit: int) -> list[Session]:
        """Return *user_id*'s sessions live at *now*, newest first (by start), at most *limit*."""
        ...

    async def revoke(
        self, session_id: SessionId, now: datetime, *, user_id: UserId | None = None
    ) -> bool:
        """End session *session_id* at *now* if it is live (and, given *user_id*, that user's).

        Returns whether it ended now: ``False`` for an unknown, ended or
        another user's session, which stays as it was.
        """
        ...

    async def revoke_all(
        self, user_id: UserId, now: datetime, *, keep: SessionId | None = None
    ) -> int:
        """End every live session of *user_id* but *keep*; return how many ended."""
        ...

    async def live_user(self, session_id: SessionId, user_id: UserId, now: datetime) -> User | None:
        """Return the user if session *session_id* of *user_id* is live and the user may sign in.

        One round trip: this is the cost of every authenticated request.
        """
        ...

    async def purge(self, before: datetime) -> int:
        """Delete sessions that expired or were revoked before *before*; return how many."""
        ...


class DeviceTokenStore(Protocol):
    """Device tokens: which devices signed in as which user, stored as digests."""

    async def add(self, token: DeviceToken, *, replacing: bytes | None = None) -> None:
        """Store *token*, and forget the token *replacing* (a digest) if given."""
        ...

    async def get(self, token_hash: bytes, now: datetime) -> DeviceToken | None:
        """Return the token stored under *token_hash* if it has not expired at *now*."""
        ...

    async def revoke_all(self, user_id: UserId) -> int:
        """Forget every device token of *user_id*; return how many there were."""
        ...

    async def purge(self, before: datetime) -> int:
        """Forget tokens that expired before *before*; return how many."""
        ...


class OneTimeTokenStore(Protocol):
    """One-time tokens, stored as digests: at most one live token per user and purpose."""

    async def issue(self, token: OneTimeToken, *, quota: IssueQuota | None = None) -> bool:
        """Store *token*, voiding the user's earlier token of the same purpose; return True.

        With *quota*, nothing changes and False is returned when the user's
        tokens of that purpose were issued too often (see :class:`IssueQuota`;
        the count is kept with the user's live token of the purpose).
        """
        ...

    async def find(self, token_hash: bytes, purpose: Purpose, now: datetime) -> OneTimeToken | None:
        """Return the live token of *purpose* stored under *token_hash*, leaving it unspent."""
        ...

    async def spend(
        self, token_hash: bytes, purpose: Purpose, now: datetime
    ) -> OneTimeToken | None:
        """Spend the token stored under *token_hash*: return it, and forget it, in one step.

        Returns ``None``, and changes nothing, when no token of *purpose* is
        stored under that digest or it expired by *now*. Of two spends of one
        token at once, exactly one returns it.
        """
        ...

    async def void(self, user_id: UserId, purposes: Collection[Purpose] | None = None) -> int:
        """Forget *user_id*'s tokens of *purposes* (every purpose by default); return how many."""
        ...

    async def purge(self, before: datetime) -> int:
        """Forget tokens that expired before *before*; return how many."""
        ...


class Repositories(Protocol):
    """The repositories of one unit of work."""

    @property
    def users(self) -> UserRepository:
        """The users."""
        ...

    @property
    def credentials(self) -> CredentialStore:
        """The users' credentials."""
        ...

    @property
    def sessions(self) -> SessionStore:
        """The sessions."""
        ...

    @property
    def devices(self) -> DeviceTokenStore:
        """The device tokens."""
        ...

    @property
    def one_time_tokens(self) -> OneTimeTokenStore:
        """The one-time tokens of mail links and login challenges."""
        ...

    @property
    def ceremonies(self) -> CeremonyStore:
        """The challenges of passkey ceremonies."""
        ...

    @property
    def outbox(self) -> EventOutbox:
        """The events recorded with this unit of work's changes, and their audit rows."""
        ...

    @property
    def audit(self) -> AuditLog:
        """The audit log, to read and to purge."""
        ...


class UnitOfWork(Protocol):
    """Opens the scopes in which repositories are used."""

    def __call__(self) -> AbstractAsyncContextManager[Repositories]:
        """Open one transaction: all of it commits when the block ends, or none of it."""
        ...

    def standalone(self) -> AbstractAsyncContextManager[Repositories]:
        """Open a scope without a transaction: each call commits on its own.

        For reads and single-statement writes, which need no transaction and
        then cost a single round trip.
        """
        ...
