"""Use cases of the sessions a user sees and ends: their devices, and an admin's view of them."""

from __future__ import annotations

import attrs

from usermgmt.domain.context import current_request
from usermgmt.domain.errors import SessionNotFoundError, UserNotFoundError
from usermgmt.domain.events import SessionsRevoked
from usermgmt.domain.model import Actor, Principal, Session, SessionId, UserId
from usermgmt.domain.rules.access import require_admin
from usermgmt.domain.rules.sessions import SESSIONS_LISTED_MAX
from usermgmt.ports import Clock, Repositories, UnitOfWork


@attrs.frozen(kw_only=True)
class ListOwnSessions:
    """The caller's live sessions: where and when they signed in, and when each was last used."""

    _uow: UnitOfWork
    _clock: Clock

    async def __call__(self, principal: Principal) -> tuple[Session, ...]:
        """Return *principal*'s live sessions, newest first (at most ``SESSIONS_LISTED_MAX``).

        The one whose id is ``principal.session_id`` is the caller's current session.
        """
        async with self._uow.standalone() as repos:
            found = await repos.sessions.list_live(
                principal.user.id, self._clock.now(), limit=SESSIONS_LISTED_MAX
            )
        return tuple(found)


@attrs.frozen(kw_only=True)
class ListSessions:
    """A user's live sessions, as an admin sees them."""

    _uow: UnitOfWork
    _clock: Clock

    async def __call__(self, user_id: UserId, *, actor: Actor) -> tuple[Session, ...]:
        """Return user *user_id*'s live sessions, newest first (at most ``SESSIONS_LISTED_MAX``).

        Raises:
            PermissionDeniedError: *actor* is not privileged.
            UserNotFoundError: no user has this id.
        """
        require_admin(actor, "list another user's sessions")
        async with self._uow.standalone() as repos:
            await _require_user(repos, user_id)
            found = await repos.sessions.list_live(
                user_id, self._clock.now(), limit=SESSIONS_LISTED_MAX
            )
        return tuple(found)


@attrs.frozen(kw_only=True)
class EndSession:
    """End one of the caller's sessions: a lost phone, a shared computer."""

    _uow: UnitOfWork
    _clock: Clock

    async def __call__(self, principal: Principal, session_id: SessionId) -> None:
        """End *principal*'s session *session_id*; its tokens are refused from the next request on.

        Raises:
            SessionNotFoundError: it is not one of *principal*'s live sessions
                (another user's session included: their ids cannot be probed).
        """
        now = self._clock.now()
        user_id = principal.user.id
        async with self._uow() as tx:
            if not await tx.sessions.revoke(session_id, now, user_id=user_id):
                raise SessionNotFoundError(str(session_id))
            await tx.outbox.add(
                SessionsRevoked(
                    at=now,
                    context=current_request(),
                    user_id=user_id,
                    actor_id=user_id,
                    count=1,
                    session_id=session_id,
                )
            )


@attrs.frozen(kw_only=True)
class EndOtherSessions:
    """End every session of the caller but the one asking."""

    _uow: UnitOfWork
    _clock: Clock

    async def __call__(self, principal: Principal) -> int:
        """End every live session of *principal*'s user but ``principal.session_id``; count them."""
        now = self._clock.now()
        user_id = principal.user.id
        async with self._uow() as tx:
            count = await tx.sessions.revoke_all(user_id, now, keep=principal.session_id)
            await tx.outbox.add(
                SessionsRevoked(
                    at=now,
                    context=current_request(),
                    user_id=user_id,
                    actor_id=user_id,
                    count=count,
                    kept_session_id=principal.session_id,
                )
            )
        return count


async def _require_user(repos: Repositories, user_id: UserId) -> None:
    if await repos.users.get(user_id, include_deleted=True) is None:
        raise UserNotFoundError(str(user_id))
