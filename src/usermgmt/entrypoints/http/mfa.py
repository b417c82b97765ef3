"""Second factors: ``/api/auth/mfa/...`` and an admin's ``/api/users/{id}/mfa``.

One's own TOTP and recovery codes, a login's second step, and an admin's reset.

Setting up, removing and regenerating need the current password (422
without it, 403 when wrong); the second step of a login answers 401 with
one body for every failure.
"""

from __future__ import annotations

from typing import Annotated, Final
from uuid import UUID

from litestar import Controller, delete, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter

from usermgmt import Principal, UserId, UserManagement
from usermgmt.entrypoints.http.limits import RATE_LIMITED
from usermgmt.entrypoints.http.responses import errors
from usermgmt.entrypoints.http.schemas import (
    CurrentPasswordRequest,
    LoginResponse,
    MfaVerifyRequest,
    RecoveryCodesResponse,
    TotpConfirmRequest,
    TotpEnrolmentResponse,
    TotpRemoveRequest,
)
from usermgmt.entrypoints.http.security import PRINCIPAL, SECURED

_NO_STORE = CacheControlHeader(no_store=True)  # secrets and codes are never cached
_NO_PROOF_422: Final = (
    "`current_password` is missing, or a value is refused; `errors` names the field."
)
_WRONG_PROOF_403: Final = "The current password is wrong (`/problems/wrong-password`)."
_NOT_ON_409: Final = "TOTP is not on for this account."
UserIdParameter = Annotated[UUID, Parameter(description="The user's id.")]


class MfaController(Controller):
    """The caller's second factors, a login's second step, and an admin's reset."""

    path = "/api"
    tags = ["mfa"]  # noqa: RUF012 - Litestar reads class attributes
    dependencies = {"principal": PRINCIPAL}  # noqa: RUF012

    @post(
        "/auth/mfa/totp",
        operation_id="startTotp",
        summary="Set up TOTP",
        status_code=200,
        security=SECURED,
        cache_control=_NO_STORE,
        responses=errors(
            400,
            401,
            403,
            409,
            413,
            422,
            503,
            s403=_WRONG_PROOF_403,
            s409="TOTP is already on: remove it first.",
            s422=_NO_PROOF_422,
        ),
    )
    async def start_totp(
        self,
        data: JSONBody[CurrentPasswordRequest],
        principal: NamedDependency[Principal],
        service: NamedDependency[UserManagement],
    ) -> TotpEnrolmentResponse:
        """Make a new pending TOTP key: its secret, `otpauth://` URI and QR code (SVG).

        Login does not ask for it until `POST /api/auth/mfa/totp/confirm`
        confirms it with a code; a second call replaces a pending key.
        """
        enrolment = await service.start_totp(principal, current_password=data.current_password)
        return TotpEnrolmentResponse.from_domain(enrolment)

    @post(
        "/auth/mfa/totp/confirm",
        operation_id="confirmTotp",
        summary="Turn TOTP on",
        status_code=200,
        security=SECURED,
        cache_control=_NO_STORE,
        responses=errors(
            400,
            401,
            409,
            413,
            422,
            503,
            s409="No pending key to confirm, or TOTP is already on.",
            s422="The code is not the key's code now (on the `code` field).",
        ),
    )
    async def confirm_totp(
        self,
        data: JSONBody[TotpConfirmRequest],
        principal: NamedDependency[Principal],
        service: NamedDependency[UserManagement],
    ) -> RecoveryCodesResponse:
        """Confirm the pending key with a code from the app: TOTP is on, and login asks for it.

        The answer holds the 10 recovery codes, shown this once. Every other
        session of the user ends; this one lives on.
        """
        codes = await service.confirm_totp(principal, data.code)
        return RecoveryCodesResponse(recovery_codes=list(codes))

    @delete(
        "/auth/mfa/totp",
        operation_id="removeTotp",
        summary="Turn TOTP off",
        status_code=204,
        security=SECURED,
        responses=errors(
            400,
            401,
            403,
            409,
            413,
            422,
            503,
            s403=_WRONG_PROOF_403,
            s409=_NOT_ON_409,
            s422="`current_password` or `code` is missing, or the code is neither a code of "
            "the app now nor an unused recovery code (on the `code` field).",
        ),
    )
    async def remove_totp(
        self,
        data: JSONBody[TotpRemoveRequest],
        principal: NamedDependency[Principal],
        service: NamedDependency[UserManagement],
    ) -> None:
        """Remove the TOTP key and the recovery codes; login asks for the password alone."""
        await service.disable_totp(
            principal, current_password=data.current_password, code=data.code
        )

    @post(
        "/auth/mfa/recovery-codes",
        operation_id="regenerateRecoveryCodes",
        summary="New recovery codes",
        status_code=200,
        security=SECURED,
        cache_control=_NO_STORE,
        responses=errors(
            400,
            401,
            403,
            409,
            413,
            422,
            503,
            s403=_WRONG_PROOF_403,
            s409=_NOT_ON_409,
            s422=_NO_PROOF_422,
        ),
    )
    async def regenerate(
        self,
        data: JSONBody[CurrentPasswordRequest],
        principal: NamedDependency[Principal],
        service: NamedDependency[UserManagement],
    ) -> RecoveryCodesResponse:
        """Make a new set of 10 recovery codes, shown this once; every earlier code is void.

        A notice goes to the account's address.
        """
        codes = await service.regenerate_recovery_codes(
            principal, current_password=data.current_password
        )
        return RecoveryCodesResponse(recovery_codes=list(codes))

    @post(
        "/auth/mfa/verify",
        operation_id="verifyMfa",
        summary="Log in: the second step",
        status_code=200,
        cache_control=_NO_STORE,
        opt=RATE_LIMITED,
        responses=errors(
            400,
            401,
            413,
            422,
            429,
            503,
            s401="The `mfa_token` is unknown, spent, expired or past its wrong codes, or the "
            "code is wrong, already used or spent: one answer for all.",
            s422="Neither or both of `code` and `recovery_code`, or a value is refused.",
            s429="Too many wrong codes on this account (`/problems/mfa-throttled`, with a "
            "growing `Retry-After`; a new `mfa_token` does not reset it), or too many "
            "requests from this client.",
        ),
    )
    async def verify(
        self, data: JSONBody[MfaVerifyRequest], service: NamedDependency[UserManagement]
    ) -> LoginResponse:
        """Finish a login that answered `mfa_required`: the token pair, `amr` `["pwd", "otp"]`.

        Send the `mfa_token` with the app's current `code`, or with one
        `recovery_code` (which is spent, and a notice mailed). A code is
        accepted once; the `mfa_token` is spent by success.
        """
        pair = await service.verify_mfa(
            data.mfa_token, code=data.code, recovery_code=data.recovery_code
        )
        return LoginResponse.from_domain(pair)

    @delete(
        "/users/{user_id:uuid}/mfa",
        operation_id="resetUserMfa",
        summary="Reset a user's second factor",
        status_code=204,
        security=SECURED,
        responses=errors(
            401,
            403,
            404,
            503,
            s403="Only admins reset another user's second factor (whether or not the id exists).",
            s404="No live user has this id.",
        ),
    )
    async def reset(
        self,
        user_id: UserIdParameter,
        principal: NamedDependency[Principal],
        service: NamedDependency[UserManagement],
    ) -> None:
        """Remove a user's TOTP key and recovery codes (a lost phone); every session ends.

        The password stays: the user signs in with it alone, and may set up TOTP again.
        """
        await service.reset_mfa(UserId(user_id), actor=principal)
