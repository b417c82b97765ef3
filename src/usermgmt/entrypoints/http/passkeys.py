"""``/api/auth/passkeys``: register, list and remove one's passkeys, and sign in with one.

Each ceremony is two requests: ``.../options`` answers the ``ceremony_id``
and the options to hand to ``navigator.credentials.create()`` or ``.get()``;
the next request sends the browser's answer (``toJSON()``) with that id,
within 5 minutes, once.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter

from usermgmt import CeremonyId, Principal, UserManagement
from usermgmt.domain.credentials import CredentialId
from usermgmt.entrypoints.http.auth import client_address, hands_out_tokens
from usermgmt.entrypoints.http.limits import RATE_LIMITED
from usermgmt.entrypoints.http.responses import errors
from usermgmt.entrypoints.http.schemas import (
    LoginResponse,
    PasskeyListResponse,
    PasskeyLoginRequest,
    PasskeyOptionsRequest,
    PasskeyOptionsResponse,
    PasskeyRegisterRequest,
    PasskeyRemoveRequest,
    PasskeyResponse,
)
from usermgmt.entrypoints.http.security import PRINCIPAL, SECURED

PasskeyIdParameter = Annotated[UUID, Parameter(description="The passkey's id.")]
_PASSWORD_422 = "`current_password` is missing, or another field is refused; `errors` names it."  # noqa: S105 - a description
_PASSWORD_403 = "The current password is wrong."  # noqa: S105 - a description


class PasskeysController(Controller):
    """The caller's passkeys, and signing in with one."""

    path = "/api/auth/passkeys"
    tags = ["passkeys"]  # noqa: RUF012 - Litestar reads class attributes
    dependencies = {"principal": PRINCIPAL}  # noqa: RUF012

    @post(
        "/register/options",
        operation_id="beginPasskeyRegistration",
        summary="Start adding a passkey",
        status_code=200,
        security=SECURED,
        opt=RATE_LIMITED,
        responses=errors(400, 401, 403, 413, 422, 429, 503, s403=_PASSWORD_403, s422=_PASSWORD_422),
    )
    async def register_options(
        self,
        data: JSONBody[PasskeyOptionsRequest],
        principal: NamedDependency[Principal],
        service: NamedDependency[UserManagement],
    ) -> PasskeyOptionsResponse:
        """Check the current password and answer creation options for the caller's browser.

        A discoverable credential (resident key) with user verification is
        asked for; ``excludeCredentials`` lists the caller's passkeys, so one
        authenticator is not registered twice.
        """
        begun = await service.begin_passkey_registration(principal, data.current_password)
        return PasskeyOptionsResponse.from_domain(begun)

    @post(
        "/register",
        operation_id="registerPasskey",
        summary="Add a passkey",
        status_code=201,
        security=SECURED,
        responses=errors(
            400,
            401,
            413,
            422,
            503,
            s422="The ceremony is unknown, spent, expired or another user's (`ceremony_id`); "
            "the response does not verify (origin, RP id, challenge, user verification, "
            "signature) or the passkey is registered already (`credential`); or `name` is "
            "refused.",
        ),
    )
    async def register(
        self,
        data: JSONBody[PasskeyRegisterRequest],
        principal: NamedDependency[Principal],
        service: NamedDependency[UserManagement],
    ) -> PasskeyResponse:
        """Verify the browser's answer and keep the passkey; a notice goes to the account."""
        added = await service.finish_passkey_registration(
            principal, CeremonyId(data.ceremony_id), data.credential, data.name
        )
        return PasskeyResponse.from_domain(added)

    @get(
        "",
        operation_id="listPasskeys",
        summary="My passkeys",
        security=SECURED,
        responses=errors(401, 503),
    )
    async def list_own(
        self, principal: NamedDependency[Principal], service: NamedDependency[UserManagement]
    ) -> PasskeyListResponse:
        """List the caller's passkeys, oldest first; never a key."""
        found = await service.list_passkeys(principal)
        return PasskeyListResponse(items=[PasskeyResponse.from_domain(p) for p in found])

    @delete(
        "/{passkey_id:uuid}",
        operation_id="removePasskey",
        summary="Remove a passkey",
        security=SECURED,
        responses=errors(
            400,
            401,
            403,
            404,
            413,
            422,
            503,
            s403=_PASSWORD_403,
            s404="Not one of your passkeys (another user's included).",
            s422=_PASSWORD_422,
        ),
    )
    async def remove(
        self,
        passkey_id: PasskeyIdParameter,
        data: JSONBody[PasskeyRemoveRequest],
        principal: NamedDependency[Principal],
        service: NamedDependency[UserManagement],
    ) -> None:
        """Check the current password and forget the passkey: it signs nobody in any more."""
        await service.remove_passkey(principal, CredentialId(passkey_id), data.current_password)

    @post(
        "/login/options",
        operation_id="beginPasskeyLogin",
        summary="Start signing in with a passkey",
        status_code=200,
        opt=RATE_LIMITED,
        responses=errors(400, 413, 429, 503),
    )
    async def login_options(
        self, service: NamedDependency[UserManagement]
    ) -> PasskeyOptionsResponse:
        """Answer request options for a discoverable credential: no email asked, none listed."""
        return PasskeyOptionsResponse.from_domain(await service.begin_passkey_login())

    @hands_out_tokens(
        "/login",
        operation_id="passkeyLogin",
        summary="Sign in with a passkey",
        s401="The answer signs nobody in: unknown, spent or expired ceremony, unknown or "
        "removed passkey, a response that does not verify, a counter that did not grow, or "
        "an account that may not sign in. One answer for all.",
    )
    async def login(
        self,
        data: JSONBody[PasskeyLoginRequest],
        request: Request[Any, Any, Any],
        service: NamedDependency[UserManagement],
    ) -> LoginResponse:
        """Exchange the browser's answer for a token pair and a device token; ``amr`` is ``hwk``.

        A passkey with user verification is itself multi-factor: no second
        factor is asked. Failures are throttled like password logins, per
        client and on the account the passkey belongs to.
        """
        pair = await service.passkey_login(
            CeremonyId(data.ceremony_id), data.credential, client=client_address(request)
        )
        return LoginResponse.from_domain(pair)
