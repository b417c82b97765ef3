"""Sessions and their refresh tokens in memory."""

from __future__ import annotations

from datetime import datetime

import attrs

from usermgmt.adapters.memory.database import InMemoryDatabase
from usermgmt.adapters.memory.journal import Journal
from usermgmt.domain.model import RefreshToken, Session, SessionId, SpendOutcome, User, UserId


class InMemorySessionStore:
    """Sessions and refresh tokens in dicts."""

    def __init__(self, db: InMemoryDatabase, journal: Journal) -> None:
        """Work on *db*, recording every change in *journal*."""
        self._db = db
        self._journal = journal

    async def add(self, session: Session, token: RefreshToken) -> None:
        """Store a new session and its first refresh token."""
        self._journal.put(self._db.sessions, session.id, session)
        self._journal.put(self._db.tokens, token.token_hash, token)

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
        """Store a refresh token; a further token of a session marks it used when issued."""
        session = self._db.sessions.get(token.session_id)
        if session is not None:
            used = attrs.evolve(session, last_used_at=token.issued_at)
            self._journal.put(self._db.sessions, session.id, used)
        self._journal.put(self._db.tokens, token.token_hash, token)

    async def list_live(self, user_id: UserId, now: datetime, *, limit: int) -> list[Session]:
        """Return the user's live sessions, newest first, at most *limit*."""
        live = [s for s in self._db.sessions.values() if s.user_id == user_id and s.is_live(now)]
        live.sort(key=lambda s: (s.created_at, s.id), reverse=True)
        return live[:limit]

    async def revoke(
        self, session_id: SessionId, now: datetime, *, user_id: UserId | None = None
    ) -> bool:
        """End one live session (of *user_id*, if given); return whether it was live."""
        session = self._db.sessions.get(session_id)
        if session is None or not session.is_live(now):
            return False
        if user_id is not None and session.user_id != user_id:
            return False
        self._journal.put(self._db.sessions, session_id, attrs.evolve(session, revoked_at=now))
        return True

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
