"""Use cases of a session's life after sign-in: refresh, token checks, sign-out.

Signing in is :mod:`usermgmt.usecases.login`.
"""

from __future__ import annotations

import attrs

from usermgmt.domain.context import current_request
from usermgmt.domain.errors import (
    InvalidTokenError,
    RefreshTokenReusedError,
    SessionNotFoundError,
    UserNotFoundError,
)
from usermgmt.domain.events import (
    LoggedOut,
    RefreshTokenReused,
    SessionsRevoked,
    TokenRefreshed,
)
from usermgmt.domain.model import (
    Actor,
    Principal,
    SessionId,
    TokenPair,
    UserId,
    hash_refresh_token,
)
from usermgmt.domain.rules.access import require_admin
from usermgmt.domain.rules.sessions import SessionPolicy
from usermgmt.ports import (
    Clock,
    TokenCodec,
    UnitOfWork,
)
from usermgmt.usecases._steps import TokenIssuer, actor_id


@attrs.frozen(kw_only=True)
class RefreshSession:
    """Exchange a refresh token for a new pair; the presented token is spent.

    A spent token presented again means two parties hold it: outside the grace
    window the whole session is revoked (RFC 9700 reuse detection).
    """

    _uow: UnitOfWork
    _issuer: TokenIssuer
    _policy: SessionPolicy
    _clock: Clock

    async def __call__(self, refresh_token: str) -> TokenPair:
        """Rotate *refresh_token*.

        Raises:
            RefreshTokenReusedError: the token was already spent.
            InvalidTokenError: the token is unknown, or its session or user is
                no longer live.
        """
        digest = hash_refresh_token(refresh_token)
        now = self._clock.now()
        reuse: RefreshTokenReusedError | None = None
        async with self._uow() as tx:
            outcome = await tx.sessions.spend(digest, now)
            if outcome is None:
                raise InvalidTokenError
            session = await tx.sessions.get(outcome.token.session_id)
            if session is None or not session.is_live(now):
                raise InvalidTokenError
            if not outcome.spent_now:
                spent_at = outcome.token.spent_at or now
                forgiven = now - spent_at <= self._policy.reuse_grace
                if not forgiven:
                    await tx.sessions.revoke(session.id, now)
                reuse = RefreshTokenReusedError(session_revoked=not forgiven)
                await tx.outbox.add(
                    RefreshTokenReused(
                        at=now,
                        context=current_request(),
                        user_id=session.user_id,
                        session_id=session.id,
                        session_revoked=not forgiven,
                    )
                )
            else:
                user = await tx.users.get(session.user_id)
                if user is None or not user.can_sign_in:
                    raise InvalidTokenError
                tokens, stored = self._issuer.issue(user, session, now)
                await tx.sessions.add_token(stored)
                await tx.outbox.add(
                    TokenRefreshed(
                        at=now, context=current_request(), user_id=user.id, session_id=session.id
                    )
                )
        if reuse is not None:
            raise reuse  # after the block, so that the revocation commits
        return tokens


@attrs.frozen(kw_only=True)
class ValidateAccessToken:
    """Turn an access token into the caller.

    Signature and claims are checked in-process; then the session's and the
    user's liveness, with the current role, come from one round trip.
    """

    _uow: UnitOfWork
    _codec: TokenCodec
    _clock: Clock

    async def __call__(self, token: str) -> Principal:
        """Return who presents *token*.

        Raises:
            InvalidTokenError: the token is bad, expired or its session has ended.
        """
        claims = self._codec.decode(token)
        async with self._uow.standalone() as repos:
            user = await repos.sessions.live_user(
                claims.session_id, claims.subject, self._clock.now()
            )
        if user is None:
            raise InvalidTokenError
        return Principal(user=user, session_id=claims.session_id)


@attrs.frozen(kw_only=True)
class Logout:
    """End the caller's session, or every session of the caller."""

    _uow: UnitOfWork
    _clock: Clock

    async def __call__(self, principal: Principal, *, all_sessions: bool = False) -> None:
        """Revoke *principal*'s session (or all of the user's); effective on the next request."""
        now = self._clock.now()
        logged_out = LoggedOut(
            at=now,
            context=current_request(),
            user_id=principal.user.id,
            session_id=principal.session_id,
            all_sessions=all_sessions,
        )
        async with self._uow() as tx:
            if all_sessions:
                await tx.sessions.revoke_all(principal.user.id, now)
            else:
                await tx.sessions.revoke(principal.session_id, now)
            await tx.outbox.add(logged_out)


@attrs.frozen(kw_only=True)
class RevokeSessions:
    """End every session of a user ("sign out everywhere"), or one of them (admins only)."""

    _uow: UnitOfWork
    _clock: Clock

    async def __call__(
        self, user_id: UserId, *, actor: Actor, session_id: SessionId | None = None
    ) -> int:
        """End all live sessions of user *user_id*, or only *session_id*; return how many ended.

        Raises:
            PermissionDeniedError: *actor* is not privileged.
            UserNotFoundError: no user has this id.
            SessionNotFoundError: *session_id* is not a live session of the user.
        """
        require_admin(actor, "end another user's sessions")
        now = self._clock.now()
        async with self._uow() as tx:
            if await tx.users.get(user_id, include_deleted=True) is None:
                raise UserNotFoundError(str(user_id))
            if session_id is None:
                count = await tx.sessions.revoke_all(user_id, now)
            elif await tx.sessions.revoke(session_id, now, user_id=user_id):
                count = 1
            else:
                raise SessionNotFoundError(str(session_id))
            await tx.outbox.add(
                SessionsRevoked(
                    at=now,
                    context=current_request(),
                    user_id=user_id,
                    actor_id=actor_id(actor),
                    count=count,
                    session_id=session_id,
                )
            )
        return count
