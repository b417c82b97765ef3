"""``/api/users``: register, list, read, update, delete and restore accounts.

Who may do what is decided by the domain: handlers pass the caller along as
the actor and let its errors through to ``problems.py``.
"""

from __future__ import annotations

from typing import Annotated, Final
from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter

from usermgmt import InvalidPageError, Principal, UserId, UserManagement
from usermgmt.domain.rules.listing import MAX_PER_PAGE
from usermgmt.entrypoints.http.limits import RATE_LIMITED
from usermgmt.entrypoints.http.responses import errors
from usermgmt.entrypoints.http.schemas import (
    RegisterRequest,
    UserPageResponse,
    UserResponse,
    UserSliceResponse,
    UserUpdateRequest,
)
from usermgmt.entrypoints.http.security import PRINCIPAL, SECURED

_LOCATION: Final = [
    ResponseHeader(name="Location", description="The new user's URL.", documentation_only=True)
]
_USER_ERRORS: Final = errors(
    401,
    403,
    404,
    503,
    s403="Not your own account, and you are not an admin (whether or not the id exists).",
)
_UPDATE_ERRORS: Final = errors(
    400,
    401,
    403,
    404,
    409,
    413,
    422,
    503,
    s403="Not your own account and not an admin; `role`, `is_active` or `email_verified` "
    "without being an admin; or a wrong `current_password`.",
    s409="The email belongs to another user (when the change applies at once: a change of "
    "one's own address that waits for its link answers alike either way), or the change "
    "would leave no active admin.",
    s422="A refused value, or a new password or email of one's own without `current_password`.",
    s503="Mail is disabled (`mail-disabled`) and a change of one's own address would wait for "
    "a link, or the database is unavailable.",
)

UserIdParameter = Annotated[UUID, Parameter(description="The user's id.")]


class UsersController(Controller):
    """Accounts: anyone registers; users manage themselves; admins manage everyone."""

    path = "/api/users"
    tags = ["users"]  # noqa: RUF012 - Litestar reads class attributes
    dependencies = {"principal": PRINCIPAL}  # noqa: RUF012

    @post(
        "/register",
        operation_id="registerUser",
        summary="Register",
        status_code=201,
        response_headers=_LOCATION,
        opt=RATE_LIMITED,
        responses=errors(400, 409, 413, 422, 429, 503, s409="A live user already has this email."),
    )
    async def register(
        self, data: JSONBody[RegisterRequest], service: NamedDependency[UserManagement]
    ) -> Response[UserResponse]:
        """Create an account; the email is compared without regard to letter case."""
        user = await service.register_user(data.email, data.password, data.name)
        return Response(
            UserResponse.from_domain(user),
            status_code=201,
            headers={"Location": f"{self.path}/{user.id}"},
        )

    @get(
        "/",
        operation_id="listUsers",
        summary="List users",
        security=SECURED,
        responses=errors(
            401,
            403,
            422,
            503,
            s403="Only admins list users.",
            s422="A bad query parameter: `page` or `per_page` out of range, a cursor "
            "this service did not hand out, or `page` together with `cursor`.",
        ),
    )
    async def list_users(
        self,
        principal: NamedDependency[Principal],
        service: NamedDependency[UserManagement],
        page: Annotated[
            int | None,
            Parameter(
                ge=1,
                description="A page number, from 1 (numbered pages, with totals). Not "
                "together with `cursor`: sending both is a 422.",
            ),
        ] = None,
        per_page: Annotated[
            int, Parameter(ge=1, le=MAX_PER_PAGE, description="Users per page.")
        ] = 20,
        cursor: Annotated[
            str | None,
            Parameter(
                max_length=256,
                description="Walk by cursor instead of `page`: empty for the first page, "
                "then the `next_cursor` of the previous one. Not together with `page`: "
                "sending both is a 422.",
            ),
        ] = None,
    ) -> UserPageResponse | UserSliceResponse:
        """List users in creation order, oldest first (admins only).

        Either numbered pages (``?page=&per_page=``, with totals), or a cursor
        walk (``?cursor=&per_page=``), which is as fast at any depth and sees
        each user once; ``page`` and ``cursor`` exclude each other (422).
        """
        if cursor is not None:
            if page is not None:
                raise InvalidPageError("cursor", "cannot be combined with page")
            found = await service.list_users_after(
                actor=principal, cursor=cursor, per_page=per_page
            )
            return UserSliceResponse.from_domain(found)
        numbered = await service.list_users(actor=principal, page=page or 1, per_page=per_page)
        return UserPageResponse.from_domain(numbered)

    @get(
        "/{user_id:uuid}",
        operation_id="getUser",
        summary="Read a user",
        security=SECURED,
        responses=_USER_ERRORS,
    )
    async def get_user(
        self,
        user_id: UserIdParameter,
        principal: NamedDependency[Principal],
        service: NamedDependency[UserManagement],
    ) -> UserResponse:
        """Return one user: one's own account, or anyone's for an admin."""
        user = await service.get_user(UserId(user_id), actor=principal)
        return UserResponse.from_domain(user)

    @patch(
        "/{user_id:uuid}",
        operation_id="patchUser",
        summary="Update a user",
        security=SECURED,
        responses=_UPDATE_ERRORS,
    )
    async def patch_user(
        self,
        user_id: UserIdParameter,
        data: JSONBody[UserUpdateRequest],
        principal: NamedDependency[Principal],
        service: NamedDependency[UserManagement],
    ) -> UserResponse:
        """Change some fields of a user; absent fields stay as they are.

        A new password ends every other session of the user; deactivation ends all.
        """
        return await _update(service, principal, UserId(user_id), data)

    @put(
        "/{user_id:uuid}",
        operation_id="putUser",
        summary="Update a user (same as PATCH)",
        security=SECURED,
        responses=_UPDATE_ERRORS,
    )
    async def put_user(
        self,
        user_id: UserIdParameter,
        data: JSONBody[UserUpdateRequest],
        principal: NamedDependency[Principal],
        service: NamedDependency[UserManagement],
    ) -> UserResponse:
        """Change some fields of a user, exactly like PATCH: absent fields stay as they are."""
        return await _update(service, principal, UserId(user_id), data)

    @delete(
        "/{user_id:uuid}",
        operation_id="deleteUser",
        summary="Delete a user",
        security=SECURED,
        responses=errors(
            401,
            403,
            404,
            409,
            503,
            s403="Not your own account, and you are not an admin.",
            s409="The user is the last active admin.",
        ),
    )
    async def delete_user(
        self,
        user_id: UserIdParameter,
        principal: NamedDependency[Principal],
        service: NamedDependency[UserManagement],
    ) -> None:
        """Soft-delete a user: sign-in refused, every session ended, the email free again."""
        await service.delete_user(UserId(user_id), actor=principal)

    @post(
        "/{user_id:uuid}/restore",
        operation_id="restoreUser",
        summary="Restore a deleted user",
        status_code=200,
        security=SECURED,
        responses=errors(
            401,
            403,
            404,
            409,
            503,
            s403="Only admins restore users (whether or not the id exists).",
            s404="No user has this id, or the user is not deleted.",
            s409="A live user has taken the email meanwhile.",
        ),
    )
    async def restore_user(
        self,
        user_id: UserIdParameter,
        principal: NamedDependency[Principal],
        service: NamedDependency[UserManagement],
    ) -> UserResponse:
        """Undo a soft delete (admins only): the user signs in again; old sessions stay ended.

        The restored user is active, even one deactivated before the delete.
        """
        user = await service.restore_user(UserId(user_id), actor=principal)
        return UserResponse.from_domain(user)


async def _update(
    service: UserManagement,
    principal: Principal,
    user_id: UserId,
    data: JSONBody[UserUpdateRequest],
) -> UserResponse:
    user = await service.update_user(
        user_id,
        actor=principal,
        name=data.name,
        email=data.email,
        password=data.password,
        current_password=data.current_password,
        role=data.role,
        is_active=data.is_active,
        email_verified=data.email_verified,
    )
    return UserResponse.from_domain(user)
