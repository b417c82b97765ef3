"""Sessions and devices: ``/api/auth/sessions`` (one's own), ``/api/users/{id}/sessions`` (admins).

A session is listed with where and when it began and when it was last used,
never with a token; ending one refuses its access and refresh tokens from
the next request on, on every instance.
"""

from __future__ import annotations

from typing import Annotated, Final
from uuid import UUID

from litestar import Controller, delete, get
from litestar.di import NamedDependency
from litestar.params import Parameter

from usermgmt import Principal, SessionId, UserId, UserManagement
from usermgmt.entrypoints.http.responses import errors
from usermgmt.entrypoints.http.schemas import SessionListResponse
from usermgmt.entrypoints.http.security import PRINCIPAL, SECURED

SessionIdParameter = Annotated[UUID, Parameter(description="The session's id.")]
UserIdParameter = Annotated[UUID, Parameter(description="The user's id.")]
_ADMIN_ERRORS: Final = errors(
    401,
    403,
    404,
    503,
    s403="Only admins see and end other users' sessions (whether or not the id exists).",
    s404="No user has this id.",
)


class SessionsController(Controller):
    """The caller's sessions (their devices), and any user's for an admin."""

    path = "/api"
    tags = ["sessions"]  # noqa: RUF012 - Litestar reads class attributes
    dependencies = {"principal": PRINCIPAL}  # noqa: RUF012

    @get(
        "/auth/sessions",
        operation_id="listOwnSessions",
        summary="My sessions",
        security=SECURED,
        responses=errors(401, 503),
    )
    async def list_own(
        self, principal: NamedDependency[Principal], service: NamedDependency[UserManagement]
    ) -> SessionListResponse:
        """List the caller's live sessions, newest first; ``current`` marks the one asking."""
        found = await service.list_own_sessions(principal)
        return SessionListResponse.from_domain(found, principal.session_id)

    @delete(
        "/auth/sessions/{session_id:uuid}",
        operation_id="endOwnSession",
        summary="End one of my sessions",
        security=SECURED,
        responses=errors(
            401,
            404,
            503,
            s404="Not one of your live sessions (another user's session included).",
        ),
    )
    async def end_one(
        self,
        session_id: SessionIdParameter,
        principal: NamedDependency[Principal],
        service: NamedDependency[UserManagement],
    ) -> None:
        """End that session of the caller: its tokens are refused from the next request on."""
        await service.end_session(principal, SessionId(session_id))

    @delete(
        "/auth/sessions",
        operation_id="endOtherSessions",
        summary="End my other sessions",
        security=SECURED,
        responses=errors(401, 503),
    )
    async def end_others(
        self, principal: NamedDependency[Principal], service: NamedDependency[UserManagement]
    ) -> None:
        """End every session of the caller but the current one, which lives on."""
        await service.end_other_sessions(principal)

    @get(
        "/users/{user_id:uuid}/sessions",
        operation_id="listUserSessions",
        summary="A user's sessions",
        security=SECURED,
        responses=_ADMIN_ERRORS,
    )
    async def list_of_user(
        self,
        user_id: UserIdParameter,
        principal: NamedDependency[Principal],
        service: NamedDependency[UserManagement],
    ) -> SessionListResponse:
        """List a user's live sessions, newest first (admins only; ``current`` is false)."""
        found = await service.list_sessions(UserId(user_id), actor=principal)
        return SessionListResponse.from_domain(found)

    @delete(
        "/users/{user_id:uuid}/sessions",
        operation_id="endUserSessions",
        summary="End a user's sessions",
        security=SECURED,
        responses=_ADMIN_ERRORS,
    )
    async def end_of_user(
        self,
        user_id: UserIdParameter,
        principal: NamedDependency[Principal],
        service: NamedDependency[UserManagement],
    ) -> None:
        """End every session of a user at once (admins only); the account stays usable."""
        await service.revoke_sessions(UserId(user_id), actor=principal)
