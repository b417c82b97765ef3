"""Bearer authentication: who is calling, read fresh from the database on every request."""

from __future__ import annotations

from typing import Any, Final

from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException
from litestar.openapi.spec import Components, SecurityRequirement, SecurityScheme

from usermgmt import InvalidTokenError, Principal, UserManagement

BEARER: Final = "BearerToken"
"""The name of the security scheme in the OpenAPI document."""

SECURED: Final[list[SecurityRequirement]] = [{BEARER: []}]
"""The ``security`` of every route that needs an access token."""

COMPONENTS: Final = Components(
    security_schemes={
        BEARER: SecurityScheme(
            type="http",
            scheme="bearer",
            bearer_format="JWT",
            description="An access token from `POST /api/auth/login` or `/api/auth/refresh`.",
        )
    }
)

MAX_TOKEN_LENGTH: Final = 4096
"""Our access tokens are a few hundred bytes; longer ones are refused undecoded."""


def bearer_token(request: Request[Any, Any, Any]) -> str:
    """Return the token of the request's ``Authorization: Bearer`` header.

    Raises:
        NotAuthorizedException: the header is missing or not a bearer token.
        InvalidTokenError: the token is too long to be one of ours.
    """
    header = request.headers.get("authorization")
    if not header:
        raise NotAuthorizedException("A bearer token is required.")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise NotAuthorizedException("A bearer token is required.")
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidTokenError
    return token


async def provide_principal(
    request: Request[Any, Any, Any], service: NamedDependency[UserManagement]
) -> Principal:
    """Return the caller: signature and claims checked here, session and user in one query."""
    return await service.validate_access_token(bearer_token(request))


PRINCIPAL: Final = Provide(provide_principal)
"""The ``principal`` dependency of the routes that need an access token."""
