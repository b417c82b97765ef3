"""``/api/auth``: sign in, rotate the refresh token, sign out, who am I, and my security events."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import JSONBody

from usermgmt import MfaChallenge, Principal, UserManagement
from usermgmt.entrypoints.http.audit import CURSOR_422, Cursor, PerPage
from usermgmt.entrypoints.http.limits import RATE_LIMITED
from usermgmt.entrypoints.http.responses import errors
from usermgmt.entrypoints.http.schemas import (
    AcceptedResponse,
    AuditSliceResponse,
    ForgotPasswordRequest,
    LoginRequest,
    LoginResponse,
    LogoutRequest,
    MfaChallengeResponse,
    RefreshRequest,
    ResendVerificationRequest,
    ResetPasswordRequest,
    TokenPairResponse,
    UserResponse,
    VerifyEmailRequest,
)
from usermgmt.entrypoints.http.security import BEARER, PRINCIPAL, SECURED, provide_principal

_NO_STORE = CacheControlHeader(no_store=True)  # RFC 6749 §5.1: token responses are not cached


def hands_out_tokens(path: str, *, operation_id: str, summary: str, s401: str) -> HTTPRouteHandler:
    """Declare a route that answers with new tokens: 200, never cached, rate-limited.

    *s401* says which credentials it refuses, and why.
    """
    return post(
        path,
        operation_id=operation_id,
        summary=summary,
        status_code=200,
        cache_control=_NO_STORE,
        opt=RATE_LIMITED,
        responses=errors(400, 401, 413, 422, 429, 503, s401=s401),
    )


def client_address(request: Request[Any, Any, Any]) -> str:
    """Return the client's IP address as the server sees it (``""`` when unknown)."""
    return request.client.host if request.client else ""


class AuthController(Controller):
    """Sessions: each login starts one; refresh rotates its token; logout ends it."""

    path = "/api/auth"
    tags = ["auth"]  # noqa: RUF012 - Litestar reads class attributes
    dependencies = {"principal": PRINCIPAL}  # noqa: RUF012

    @hands_out_tokens(
        "/login",
        operation_id="login",
        summary="Log in",
        s401="Wrong email or password, or an account that may not sign in: one answer for all.",
    )
    async def login(
        self,
        data: JSONBody[LoginRequest],
        request: Request[Any, Any, Any],
        service: NamedDependency[UserManagement],
    ) -> LoginResponse | MfaChallengeResponse:
        """Exchange an email and password for an access token, a refresh token and a device token.

        For an account with TOTP on, a right password answers
        `{"mfa_required": true, "mfa_token", "expires_in": 300, "methods"}`
        instead, and no token: the login ends at `POST /api/auth/mfa/verify`.

        Repeated failures for one account from one client are throttled with a
        growing ``Retry-After`` (the right password is refused too meanwhile);
        failures from all clients together, past a looser ceiling, throttle
        every client but the devices that present a valid ``device_token``.
        """
        pair = await service.authenticate(
            data.email,
            data.password,
            client=client_address(request),
            device_token=data.device_token,
        )
        if isinstance(pair, MfaChallenge):
            return MfaChallengeResponse.from_domain(pair)
        return LoginResponse.from_domain(pair)

    @hands_out_tokens(
        "/refresh",
        operation_id="refresh",
        summary="Rotate the refresh token",
        s401="Unknown, spent or expired refresh token, or an ended session. A spent token "
        "presented after the grace window also ends its session.",
    )
    async def refresh(
        self, data: JSONBody[RefreshRequest], service: NamedDependency[UserManagement]
    ) -> TokenPairResponse:
        """Exchange a refresh token for a new pair; the presented token is spent."""
        return TokenPairResponse.from_domain(await service.refresh(data.refresh_token))

    @post(
        "/logout",
        operation_id="logout",
        summary="Log out",
        status_code=204,
        security=SECURED,
        opt=RATE_LIMITED,
        responses=errors(400, 401, 413, 422, 429, 503),
    )
    async def logout(
        self,
        principal: NamedDependency[Principal],
        service: NamedDependency[UserManagement],
        data: JSONBody[LogoutRequest | None] = None,
    ) -> None:
        """End this session, or with ``{"all_sessions": true}`` every session of the user.

        The tokens are refused from the next request on, by every instance.
        """
        all_sessions = data.all_sessions if data is not None else False
        await service.logout(principal, all_sessions=all_sessions)

    @post(
        "/password/forgot",
        operation_id="forgotPassword",
        summary="Ask for a password-reset link",
        status_code=202,
        opt=RATE_LIMITED,
        responses=errors(
            400,
            413,
            422,
            429,
            503,
            s503="Mail is disabled (`mail-disabled`), or the database is unavailable.",
        ),
    )
    async def forgot_password(
        self, data: JSONBody[ForgotPasswordRequest], service: NamedDependency[UserManagement]
    ) -> AcceptedResponse:
        """Mail a link to set a new password, if the address belongs to a live, active account.

        The answer is the same, in the same time, for every address, known or
        not: the request is only recorded, and the mail is sent in the
        background, at most once a minute and five times an hour per account.
        The link (`{USERMGMT_APP_URL}/reset-password#token=…`) works once, for
        `USERMGMT_RESET_TTL` seconds.
        """
        await service.request_password_reset(data.email)
        return AcceptedResponse()

    @post(
        "/password/reset",
        operation_id="resetPassword",
        summary="Set a new password with a reset link",
        status_code=204,
        opt=RATE_LIMITED,
        responses=errors(
            400,
            413,
            422,
            429,
            503,
            s422="The token is unknown, spent, expired or voided (one answer for all, on the "
            "`token` field), or the password policy refuses the password.",
        ),
    )
    async def reset_password(
        self, data: JSONBody[ResetPasswordRequest], service: NamedDependency[UserManagement]
    ) -> None:
        """Spend a reset link's token and set the password; every session of the user ends.

        No tokens are issued: the user signs in with the new password. A
        notice goes to the account's address.
        """
        await service.reset_password(data.token, data.password)

    @post(
        "/verify-email",
        operation_id="verifyEmail",
        summary="Verify an address with a mailed link",
        status_code=200,
        opt=RATE_LIMITED,
        responses=errors(
            400,
            409,
            413,
            422,
            429,
            503,
            s409="An email change's new address was taken by a live user meanwhile; the link "
            "stays unspent.",
            s422="The token is unknown, spent, expired or voided (one answer for all, on the "
            "`token` field).",
        ),
    )
    async def verify_email(
        self, data: JSONBody[VerifyEmailRequest], service: NamedDependency[UserManagement]
    ) -> UserResponse:
        """Spend a verification link's token; the user, now verified, is returned.

        A link mailed for a change of one's own address applies the change:
        the user is returned on the new address, verified. Opening the link's
        page (`GET /verify-email`) spends nothing; its button sends this.
        """
        return UserResponse.from_domain(await service.verify_email(data.token))

    @post(
        "/verify-email/resend",
        operation_id="resendVerification",
        summary="Ask for a new verification link",
        status_code=202,
        security=[{}, {BEARER: []}],
        opt=RATE_LIMITED,
        responses=errors(
            400,
            401,
            413,
            422,
            429,
            503,
            s401="No body and no valid bearer token: there is no address to send to.",
            s503="Mail is disabled (`mail-disabled`), or the database is unavailable.",
        ),
    )
    async def resend_verification(
        self,
        request: Request[Any, Any, Any],
        service: NamedDependency[UserManagement],
        data: JSONBody[ResendVerificationRequest | None] = None,
    ) -> AcceptedResponse:
        """Mail a new verification link, if the address has a live account not verified yet.

        `{"email"}` names the address; with no body, the bearer token's user
        asks for their own. The answer is the same, in the same time, for
        every address, verified, unverified or unknown, and whether or not a
        mail is sent: at most one a minute and five an hour per account.
        """
        if data is None:
            principal = await provide_principal(request, service)
            await service.resend_verification(actor=principal)
        else:
            await service.resend_verification(data.email)
        return AcceptedResponse()

    @get(
        "/me",
        operation_id="getCurrentUser",
        summary="Who am I",
        security=SECURED,
        responses=errors(401, 503),
    )
    async def me(self, principal: NamedDependency[Principal]) -> UserResponse:
        """Return the user the access token belongs to, as stored now."""
        return UserResponse.from_domain(principal.user)

    @get(
        "/events",
        operation_id="listOwnAuditEvents",
        summary="My security events",
        security=SECURED,
        responses=errors(401, 422, 503, s422=CURSOR_422),
    )
    async def events(
        self,
        principal: NamedDependency[Principal],
        service: NamedDependency[UserManagement],
        cursor: Cursor = None,
        per_page: PerPage = 20,
    ) -> AuditSliceResponse:
        """List the audit rows about one's own account, newest first.

        Sign-ins (failed ones too), sessions, password and profile changes.
        On a row an admin caused, the admin's id, address and user agent are
        left out.
        """
        found = await service.list_own_audit_events(principal, cursor=cursor, per_page=per_page)
        return AuditSliceResponse.from_domain(found)
