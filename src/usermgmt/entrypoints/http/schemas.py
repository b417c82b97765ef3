"""The JSON bodies of the HTTP API: what clients send and what they get back.

Request bodies refuse unknown fields, so that a misspelt field is a 422
rather than a silent no-op, and cap every string before anything else runs.

Past 300 lines, kept as one module for now: ``openapi.finish_openapi`` reads
every body from this one module to describe it and to set the password
minimum. Its natural split is one module per resource (accounts, audit, the
service's own routes), with the OpenAPI pass reading each.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal
from uuid import UUID

import msgspec

from usermgmt import (
    AuditEntry,
    AuditSlice,
    MfaChallenge,
    PasskeyCeremony,
    PasskeyCredential,
    Readiness,
    Role,
    Session,
    SessionId,
    TokenPair,
    TotpEnrolment,
    User,
    UserPage,
    UserSlice,
)
from usermgmt.domain.model import EMAIL_MAX_LENGTH, NAME_MAX_LENGTH
from usermgmt.domain.passkeys import PASSKEY_NAME_MAX_LENGTH
from usermgmt.domain.rules.passwords import PASSWORD_MAX_LENGTH

TOKEN_MAX_LENGTH: Final = 512
"""Refresh and device tokens are 43 characters; anything much longer is refused unread."""

EmailField = Annotated[str, msgspec.Meta(max_length=EMAIL_MAX_LENGTH, examples=["ann@example.org"])]
PasswordField = Annotated[str, msgspec.Meta(max_length=PASSWORD_MAX_LENGTH)]
NewPasswordField = Annotated[
    str,
    msgspec.Meta(
        max_length=PASSWORD_MAX_LENGTH,
        description="A new password: at least `minLength` characters (the configured "
        "minimum) and at most `maxLength`, counted in code points after NFKC "
        "normalisation. The password policy may refuse it (a common password, the email "
        "address): 422 with the reason.",
    ),
]
"""A password being set: the OpenAPI document adds the configured minimum length."""
CurrentPasswordField = Annotated[
    str,
    msgspec.Meta(
        max_length=PASSWORD_MAX_LENGTH,
        description="The caller's current password. Required to change one's own "
        "password (422 without it, 403 when wrong); not needed by an admin changing "
        "someone else's.",
    ),
]
NameField = Annotated[str, msgspec.Meta(max_length=NAME_MAX_LENGTH, examples=["Ann"])]
RefreshTokenField = Annotated[
    str, msgspec.Meta(max_length=TOKEN_MAX_LENGTH, description="The opaque refresh token.")
]
DeviceTokenField = Annotated[
    str,
    msgspec.Meta(
        max_length=TOKEN_MAX_LENGTH,
        description="The opaque device token of an earlier login from this device.",
    ),
]


# --- requests -----------------------------------------------------------------------------


class RegisterRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A new account: email, password and an optional display name."""

    email: EmailField
    password: NewPasswordField
    name: NameField = ""


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Credentials to exchange for a token pair.

    A device that signed in before sends the ``device_token`` it got then: while
    it is valid, the account's throttle ceiling does not apply to this device.
    """

    email: EmailField
    password: PasswordField
    device_token: DeviceTokenField | None = None


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A refresh token to exchange for a new pair; it is spent by the exchange."""

    refresh_token: RefreshTokenField


class LogoutRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Which sessions to end: this one (default) or every session of the user."""

    all_sessions: bool = False


OneTimeTokenField = Annotated[
    str,
    msgspec.Meta(
        max_length=TOKEN_MAX_LENGTH,
        description="The token of a link mailed by the service (after `#token=` in the link).",
    ),
]


class ForgotPasswordRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The address to send a password-reset link to, if it has an account."""

    email: EmailField


class ResetPasswordRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A reset link's token and the new password."""

    token: OneTimeTokenField
    password: NewPasswordField


class VerifyEmailRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A verification or email-change link's token."""

    token: OneTimeTokenField


class ResendVerificationRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The address to send a new verification link to, if it has an account that waits for one."""

    email: EmailField


class AcceptedResponse(msgspec.Struct):
    """The request was taken; whatever it leads to happens in the background."""

    status: Literal["accepted"] = "accepted"


class UserUpdateRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A partial update: absent (or null) fields stay as they are.

    A new ``password`` or ``email`` of one's own requires ``current_password``
    (422 without it, 403 when wrong); a new password ends every other session
    of the user. Unless verification is off, a new address of one's own waits
    as ``pending_email`` until the link mailed to it is spent at
    ``/api/auth/verify-email``; an admin's change of another user's address
    applies at once, unverified. ``role``, ``is_active`` and
    ``email_verified`` may be changed by admins only (403).
    """

    name: NameField | None = None
    email: EmailField | None = None
    password: NewPasswordField | None = None
    current_password: CurrentPasswordField | None = None
    role: Role | None = None
    is_active: bool | None = None
    email_verified: bool | None = None


# --- responses ----------------------------------------------------------------------------


class UserResponse(msgspec.Struct):
    """A user as clients see it: never a password or hash."""

    id: UUID
    email: str
    name: str
    role: Role
    is_active: bool
    email_verified: Annotated[
        bool,
        msgspec.Meta(
            description="Whether the owner proved the address theirs: a verification link, "
            "or a password reset mailed to it."
        ),
    ]
    pending_email: Annotated[
        str | None,
        msgspec.Meta(
            description="The address a change of one's own email waits to confirm "
            "(`null` when none waits)."
        ),
    ]
    created_at: datetime
    updated_at: datetime
    mfa_enabled: Annotated[
        bool, msgspec.Meta(description="Whether login asks for a second factor (TOTP is on).")
    ]

    @classmethod
    def from_domain(cls, user: User) -> UserResponse:
        """Show *user*."""
        return cls(
            id=user.id,
            email=user.email.value,
            name=user.name,
            role=user.role,
            is_active=user.is_active,
            email_verified=user.email_verified,
            pending_email=None if user.pending_email is None else user.pending_email.value,
            created_at=user.created_at,
            updated_at=user.updated_at,
            mfa_enabled=user.mfa_enabled,
        )


class TokenPairResponse(msgspec.Struct):
    """A new session's (or a rotated session's) tokens."""

    access_token: str
    refresh_token: str
    token_type: str
    expires_in: Annotated[int, msgspec.Meta(description="Seconds until the access token expires.")]

    @classmethod
    def from_domain(cls, pair: TokenPair) -> TokenPairResponse:
        """Show *pair*."""
        return cls(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            token_type=pair.token_type,
            expires_in=pair.expires_in,
        )


class LoginResponse(TokenPairResponse):
    """A new session's tokens, and the device token to present at the next login."""

    device_token: Annotated[
        str,
        msgspec.Meta(
            description="Keep it and send it with the next login from this device; "
            "the one sent with this login is spent."
        ),
    ]

    @classmethod
    def from_domain(cls, pair: TokenPair) -> LoginResponse:
        """Show *pair*, which a login made (so it carries a device token)."""
        tokens = msgspec.structs.asdict(TokenPairResponse.from_domain(pair))
        return cls(**tokens, device_token=pair.device_token or "")


class UserPageResponse(msgspec.Struct):
    """One numbered page of users, oldest first, with the total."""

    items: list[UserResponse]
    page: int
    per_page: int
    total: int
    pages: int

    @classmethod
    def from_domain(cls, page: UserPage) -> UserPageResponse:
        """Show *page*."""
        return cls(
            items=[UserResponse.from_domain(u) for u in page.items],
            page=page.page,
            per_page=page.per_page,
            total=page.total,
            pages=page.pages,
        )


class UserSliceResponse(msgspec.Struct):
    """Users after a cursor, oldest first; ``next_cursor`` is null after the last."""

    items: list[UserResponse]
    next_cursor: str | None

    @classmethod
    def from_domain(cls, found: UserSlice) -> UserSliceResponse:
        """Show *found*."""
        return cls(
            items=[UserResponse.from_domain(u) for u in found.items],
            next_cursor=found.next_cursor,
        )


class AuditEventResponse(msgspec.Struct):
    """One row of the audit log; unknown values (an address from the CLI) are null."""

    id: int
    at: datetime
    type: str
    outcome: str
    actor_id: UUID | None
    user_id: UUID | None
    session_id: UUID | None
    ip: str | None
    user_agent: str | None
    request_id: str | None
    details: dict[str, str | int | bool | list[str] | None]

    @classmethod
    def from_domain(cls, entry: AuditEntry) -> AuditEventResponse:
        """Show *entry*."""
        return cls(
            id=entry.id or 0,
            at=entry.at,
            type=entry.type,
            outcome=str(entry.outcome),
            actor_id=entry.actor_id,
            user_id=entry.user_id,
            session_id=entry.session_id,
            ip=entry.context.ip or None,
            user_agent=entry.context.user_agent or None,
            request_id=entry.context.request_id or None,
            details=dict(entry.details),
        )


class AuditSliceResponse(msgspec.Struct):
    """Audit rows after a cursor, newest first; ``next_cursor`` is null after the last."""

    items: list[AuditEventResponse]
    next_cursor: str | None

    @classmethod
    def from_domain(cls, found: AuditSlice) -> AuditSliceResponse:
        """Show *found*."""
        return cls(
            items=[AuditEventResponse.from_domain(e) for e in found.items],
            next_cursor=found.next_cursor,
        )


class SessionResponse(msgspec.Struct):
    """One sign-in as its user sees it: where and when, never a token."""

    id: UUID
    created_at: datetime
    last_used_at: Annotated[
        datetime,
        msgspec.Meta(description="The sign-in, or the latest refresh (reads do not count)."),
    ]
    expires_at: datetime
    ip: Annotated[str | None, msgspec.Meta(description="The client's address at sign-in.")]
    user_agent: Annotated[
        str | None, msgspec.Meta(description="The `User-Agent` at sign-in, up to 512 characters.")
    ]
    amr: Annotated[
        list[str], msgspec.Meta(description='How the user was authenticated, e.g. `["pwd"]`.')
    ]
    current: Annotated[bool, msgspec.Meta(description="Whether the caller's token is of this one.")]

    @classmethod
    def from_domain(cls, session: Session, current: SessionId | None) -> SessionResponse:
        """Show *session*; it is the caller's own if its id is *current*."""
        return cls(
            id=session.id,
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            expires_at=session.expires_at,
            ip=session.ip,
            user_agent=session.user_agent,
            amr=list(session.amr),
            current=session.id == current,
        )


class SessionListResponse(msgspec.Struct):
    """Live sessions, newest first."""

    items: list[SessionResponse]

    @classmethod
    def from_domain(
        cls, sessions: tuple[Session, ...], current: SessionId | None = None
    ) -> SessionListResponse:
        """Show *sessions*, marking the one whose id is *current*."""
        return cls(items=[SessionResponse.from_domain(s, current) for s in sessions])


# --- passkeys ---------------------------------------------------------------------------------

PasskeyPasswordField = Annotated[
    str,
    msgspec.Meta(
        max_length=PASSWORD_MAX_LENGTH,
        description="The caller's current password: adding or removing a passkey is a "
        "sensitive change (422 without it, 403 when wrong).",
    ),
]
WebAuthnJSON = Annotated[
    dict[str, Any],
    msgspec.Meta(
        description="What the browser's `PublicKeyCredential.toJSON()` gives: a "
        "`RegistrationResponseJSON` or an `AuthenticationResponseJSON` (WebAuthn Level 3)."
    ),
]


class PasskeyOptionsRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The current password, which starting a passkey registration requires."""

    current_password: PasskeyPasswordField | None = None


class PasskeyRegisterRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The browser's answer to a registration ceremony, and what to call the passkey."""

    ceremony_id: Annotated[UUID, msgspec.Meta(description="From the options' answer.")]
    credential: WebAuthnJSON
    name: (
        Annotated[
            str,
            msgspec.Meta(
                max_length=PASSKEY_NAME_MAX_LENGTH,
                description="What the user calls it (`Passkey` when not given).",
            ),
        ]
        | None
    ) = None


class PasskeyRemoveRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The current password, which removing a passkey requires."""

    current_password: PasskeyPasswordField | None = None


class PasskeyLoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The browser's answer to a sign-in ceremony."""

    ceremony_id: Annotated[UUID, msgspec.Meta(description="From the options' answer.")]
    credential: WebAuthnJSON


class PasskeyOptionsResponse(msgspec.Struct):
    """A ceremony begun: its id, and the options for ``navigator.credentials``."""

    ceremony_id: Annotated[
        UUID,
        msgspec.Meta(description="Send it back with the browser's answer, within 5 minutes."),
    ]
    options: Annotated[
        dict[str, Any],
        msgspec.Meta(
            description="`PublicKeyCredentialCreationOptionsJSON` (registration) or "
            "`PublicKeyCredentialRequestOptionsJSON` (sign-in), for "
            "`PublicKeyCredential.parseCreationOptionsFromJSON` / "
            "`parseRequestOptionsFromJSON`."
        ),
    ]

    @classmethod
    def from_domain(cls, ceremony: PasskeyCeremony) -> PasskeyOptionsResponse:
        """Show *ceremony*."""
        return cls(ceremony_id=ceremony.ceremony_id, options=dict(ceremony.options))


class PasskeyResponse(msgspec.Struct):
    """One of the caller's passkeys: never its key."""

    id: UUID
    name: str
    created_at: datetime
    last_used_at: Annotated[
        datetime | None, msgspec.Meta(description="The last sign-in with it, if any.")
    ]
    backed_up: Annotated[
        bool,
        msgspec.Meta(description="Whether the provider syncs it (the last sign-in's BS flag)."),
    ]

    @classmethod
    def from_domain(cls, passkey: PasskeyCredential) -> PasskeyResponse:
        """Show *passkey*."""
        return cls(
            id=passkey.id,
            name=passkey.name,
            created_at=passkey.created_at,
            last_used_at=passkey.last_used_at,
            backed_up=passkey.backed_up,
        )


class PasskeyListResponse(msgspec.Struct):
    """The caller's passkeys, oldest first."""

    items: list[PasskeyResponse]


class ServiceInfo(msgspec.Struct):
    """What answers at ``/``."""

    name: str
    version: str
    docs: str


class Health(msgspec.Struct):
    """Whether the service and its database are up."""

    status: Annotated[str, msgspec.Meta(examples=["ok", "unavailable"])]
    database: Annotated[str, msgspec.Meta(examples=["ok", "unavailable"])]


class Liveness(msgspec.Struct):
    """The process serves requests."""

    status: Annotated[str, msgspec.Meta(examples=["ok"])]


class ReadinessChecks(msgspec.Struct):
    """What each readiness check found: a fixed word, never an error's text."""

    database: Annotated[str, msgspec.Meta(examples=["ok", "unavailable"])]
    migrations: Annotated[str, msgspec.Meta(examples=["ok", "behind", "ahead", "unknown"])]


class ReadinessResponse(msgspec.Struct):
    """Whether this instance may be sent traffic, and why not."""

    status: Annotated[str, msgspec.Meta(examples=["ok", "unavailable"])]
    checks: ReadinessChecks

    @classmethod
    def from_domain(cls, found: Readiness) -> ReadinessResponse:
        """Show the outcome of the service's readiness checks."""
        return cls(
            status="ok" if found.ready else "unavailable",
            checks=ReadinessChecks(database=found.database, migrations=found.migrations),
        )


class PublicKey(msgspec.Struct):
    """One Ed25519 public key (RFC 8037) that verifies access tokens."""

    kty: str
    crv: str
    x: str
    kid: str
    alg: str
    use: str


class KeySet(msgspec.Struct):
    """The JSON Web Key Set of the service."""

    keys: list[PublicKey]


# --- second factors -----------------------------------------------------------------------

CODE_MAX_LENGTH: Final = 64
"""A TOTP code is 6 digits and a recovery code 19 characters; anything much longer is refused."""
SensitivePasswordField = Annotated[
    str,
    msgspec.Meta(
        max_length=PASSWORD_MAX_LENGTH,
        description="The caller's current password (422 without it, 403 when wrong).",
    ),
]
TotpCodeField = Annotated[
    str,
    msgspec.Meta(
        max_length=CODE_MAX_LENGTH,
        examples=["123456"],
        description="The 6-digit code the authenticator app shows now.",
    ),
]
RecoveryCodeField = Annotated[
    str,
    msgspec.Meta(
        max_length=CODE_MAX_LENGTH,
        examples=["abcd-efgh-ijkl-mnop"],
        description="One of the recovery codes (case, spaces and dashes do not matter).",
    ),
]
MfaTokenField = Annotated[
    str,
    msgspec.Meta(
        max_length=TOKEN_MAX_LENGTH,
        description="The `mfa_token` the login answered with (five minutes, five wrong codes).",
    ),
]


class CurrentPasswordRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The caller's current password, which a sensitive change needs."""

    current_password: SensitivePasswordField


class TotpConfirmRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A code from the app, proving it holds the new key."""

    code: TotpCodeField


class TotpRemoveRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The current password and a code: a TOTP code or a recovery code."""

    current_password: SensitivePasswordField
    code: Annotated[
        str,
        msgspec.Meta(
            max_length=CODE_MAX_LENGTH,
            description="A code from the authenticator app, or an unused recovery code.",
        ),
    ]


class MfaVerifyRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The login's ``mfa_token`` and either a TOTP ``code`` or a ``recovery_code``."""

    mfa_token: MfaTokenField
    code: TotpCodeField | None = None
    recovery_code: RecoveryCodeField | None = None


class TotpEnrolmentResponse(msgspec.Struct):
    """A new pending TOTP key: add it to an authenticator app, then confirm with a code."""

    secret: Annotated[str, msgspec.Meta(description="The base32 key, to type in by hand.")]
    otpauth_uri: Annotated[
        str, msgspec.Meta(description="The `otpauth://totp/...` URI of the key.")
    ]
    qr_svg: Annotated[
        str, msgspec.Meta(description="An SVG document: the QR code of `otpauth_uri`, to scan.")
    ]

    @classmethod
    def from_domain(cls, enrolment: TotpEnrolment) -> TotpEnrolmentResponse:
        """Show *enrolment*."""
        return cls(
            secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri, qr_svg=enrolment.qr_svg
        )


class RecoveryCodesResponse(msgspec.Struct):
    """A new set of recovery codes, shown this once: each works once, in place of a code."""

    recovery_codes: list[str]


class MfaChallengeResponse(msgspec.Struct):
    """The password was right; the account asks for a second factor at ``/api/auth/mfa/verify``."""

    mfa_required: Literal[True]
    mfa_token: MfaTokenField
    expires_in: Annotated[int, msgspec.Meta(description="Seconds the `mfa_token` lives.")]
    methods: Annotated[
        list[str],
        msgspec.Meta(examples=[["totp", "recovery_code"]], description="What verify accepts."),
    ]

    @classmethod
    def from_domain(cls, challenge: MfaChallenge) -> MfaChallengeResponse:
        """Show *challenge*."""
        return cls(
            mfa_required=True,
            mfa_token=challenge.mfa_token,
            expires_in=challenge.expires_in,
            methods=list(challenge.methods),
        )


# --- errors -------------------------------------------------------------------------------


class Problem(msgspec.Struct):
    """An RFC 9457 problem detail (``application/problem+json``)."""

    type: Annotated[str, msgspec.Meta(examples=["/problems/not-found"])]
    title: str
    status: int
    detail: str


class FieldProblem(msgspec.Struct):
    """What is wrong with one field of the request."""

    field: Annotated[str, msgspec.Meta(examples=["email"])]
    message: str


class ValidationProblem(msgspec.Struct):
    """A problem detail for refused input, naming each refused field."""

    type: Annotated[str, msgspec.Meta(examples=["/problems/invalid"])]
    title: str
    status: int
    detail: str
    errors: list[FieldProblem]
