"""Users in memory, with the email index and the creation-order index PostgreSQL has."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from usermgmt.adapters.memory.database import InMemoryDatabase
from usermgmt.adapters.memory.journal import Journal
from usermgmt.domain.errors import EmailTakenError
from usermgmt.domain.model import Email, User, UserId
from usermgmt.domain.rules.listing import ListPosition


class InMemoryUserRepository:
    """Users in a dict, with an email index and a creation-order index."""

    def __init__(self, db: InMemoryDatabase, journal: Journal) -> None:
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
