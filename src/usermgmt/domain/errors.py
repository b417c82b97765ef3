"""The domain's errors: one small hierarchy that every face maps in one place.

Each face (HTTP, CLI) maps the *category* classes below (``NotFoundError``,
``ConflictError``, ...) to its own vocabulary; the leaves say exactly what went
wrong and carry the data a caller needs to act on it.

The module runs past 300 lines and stays one: it is the whole hierarchy,
read top to bottom in the order the faces map it, each class a few lines
with its message. Split by feature, a category's leaves would scatter over
modules that every face and ``usermgmt.errors`` would then have to gather.
"""

from __future__ import annotations

import attrs


@attrs.define
class UserMgmtError(Exception):
    """The root of every error usermgmt raises on purpose."""

    def __str__(self) -> str:
        """Return the human-readable explanation."""
        return self.message

    @property
    def message(self) -> str:
        """A one-line explanation, safe to show to the client."""
        return "The request could not be completed."


# --- 422: input refused ---------------------------------------------------------------------


@attrs.define
class ValidationError(UserMgmtError):
    """Input that parses but is refused; *field* names what was wrong."""

    field: str
    reason: str

    @property
    def message(self) -> str:
        """Explain which field was refused and why."""
        return f"{self.field}: {self.reason}"


@attrs.define
class InvalidEmailError(ValidationError):
    """The email address is not a valid address."""


@attrs.define
class WeakPasswordError(ValidationError):
    """The password breaks the password policy (too short, too long, common, ...)."""


@attrs.define
class ValueTooLongError(ValidationError):
    """A text value is longer than its limit."""


@attrs.define
class InvalidCursorError(ValidationError):
    """A listing cursor is not one that usermgmt handed out."""


@attrs.define
class InvalidPageError(ValidationError):
    """A page number or page size is out of range."""


@attrs.define
class CurrentPasswordRequiredError(ValidationError):
    """Changing one's own password requires the current password."""


@attrs.define
class InvalidOneTimeTokenError(ValidationError):
    """A one-time token (a mailed link's) is unknown, spent, expired, voided or for another use.

    One error, and one message, for every reason: the answer tells nothing
    about which it was.
    """

    field: str = "token"
    reason: str = "is invalid or has expired; ask for a new link"


@attrs.define
class PasskeyRejectedError(ValidationError):
    """A passkey registration was refused; *field* and *reason* say what, for the user.

    Its ceremony is unknown, spent, expired or another user's (``ceremony_id``),
    or the response does not verify: origin, RP id, challenge, user
    verification, signature (``credential``), or the passkey is registered
    already.
    """


@attrs.define
class InvalidTotpCodeError(ValidationError):
    """The code given to confirm or remove a second factor is not a valid one now."""

    field: str = "code"
    reason: str = "is not a valid code from your authenticator app (or a recovery code)"


# --- 401: who are you? -----------------------------------------------------------------------


@attrs.define
class AuthenticationError(UserMgmtError):
    """The caller could not be authenticated."""

    @property
    def message(self) -> str:
        """Explain the failure without saying which check failed."""
        return "Authentication failed."


@attrs.define
class InvalidCredentialsError(AuthenticationError):
    """Wrong email or password; deliberately silent about which."""

    @property
    def message(self) -> str:
        """One message for unknown email, wrong password, deleted or inactive user."""
        return "Invalid email or password."


@attrs.define
class InvalidMfaCodeError(AuthenticationError):
    """A login's second step failed: wrong, replayed or spent code, or a bad ``mfa_token``.

    One error, and one message, for every reason.
    """

    @property
    def message(self) -> str:
        """One message for every failure of the second step."""
        return "The code or the sign-in challenge is invalid or has expired."


@attrs.define
class InvalidTokenError(AuthenticationError):
    """A token is malformed, forged, expired, or its session has ended."""

    @property
    def message(self) -> str:
        """One message for every kind of bad token."""
        return "The token is invalid, expired or revoked."


@attrs.define
class RefreshTokenReusedError(InvalidTokenError):
    """A spent refresh token came back; *session_revoked* says whether the session died.

    Outside the grace window this is treated as theft and the whole session is
    revoked; inside it (a second tab refreshing at the same moment) the session lives.
    """

    session_revoked: bool


# --- 403: you may not ------------------------------------------------------------------------


@attrs.define
class PermissionDeniedError(UserMgmtError):
    """The caller is authenticated but not allowed to do this."""

    action: str

    @property
    def message(self) -> str:
        """Name the refused action."""
        return f"Not allowed to {self.action}."


@attrs.define
class WrongPasswordError(PermissionDeniedError):
    """The current password given to authorise a change is wrong."""

    action: str = "change the password: the current password is wrong"


@attrs.define
class EmailNotVerifiedError(PermissionDeniedError):
    """The password was right, but the service requires a verified address to sign in.

    Raised only after the password is proven (and the throttle passed), so it
    tells nothing to someone without the password.
    """

    action: str = "sign in before the email address is verified: follow the mailed link"


# --- 404 ------------------------------------------------------------------------------------


@attrs.define
class NotFoundError(UserMgmtError):
    """The named thing does not exist (or was deleted)."""


@attrs.define
class UserNotFoundError(NotFoundError):
    """No live user has this id or email."""

    reference: str

    @property
    def message(self) -> str:
        """Name the user that was looked for."""
        return f"No user {self.reference}."


@attrs.define
class SessionNotFoundError(NotFoundError):
    """No live session of the user has this id (another user's session counts as none)."""

    reference: str

    @property
    def message(self) -> str:
        """Name the session that was looked for."""
        return f"No live session {self.reference}."


@attrs.define
class PasskeyNotFoundError(NotFoundError):
    """The user has no passkey with this id (another user's passkey counts as none)."""

    reference: str

    @property
    def message(self) -> str:
        """Name the passkey that was looked for."""
        return f"No passkey {self.reference}."


@attrs.define
class UserNotDeletedError(NotFoundError):
    """Restore was asked for a user that is not deleted: there is no deleted user to restore."""

    reference: str

    @property
    def message(self) -> str:
        """Name the user."""
        return f"User {self.reference} is not deleted."


# --- 409 ------------------------------------------------------------------------------------


@attrs.define
class ConflictError(UserMgmtError):
    """The request conflicts with the current state."""


@attrs.define
class EmailTakenError(ConflictError):
    """Another live user already has this email (compared by its key, ``Email.key``)."""

    email: str

    @property
    def message(self) -> str:
        """Name the taken address."""
        return f"The email {self.email} is already registered."


@attrs.define
class LastAdminError(ConflictError):
    """The change would leave no active administrator."""

    @property
    def message(self) -> str:
        """Explain why the change is refused."""
        return "The last active administrator cannot be demoted, deactivated or deleted."


@attrs.define
class TotpAlreadyEnabledError(ConflictError):
    """The user has TOTP on already: remove it before setting up another."""

    @property
    def message(self) -> str:
        """Say what to do instead."""
        return "TOTP is already on for this account; remove it first to set up another."


@attrs.define
class MfaNotEnabledError(ConflictError):
    """The action needs a second factor that is on, and the user has none (or a pending one)."""

    @property
    def message(self) -> str:
        """Say what is missing."""
        return "TOTP is not on for this account."


# --- 429 ------------------------------------------------------------------------------------


@attrs.define
class LoginThrottledError(UserMgmtError):
    """Too many failed logins; try again in *retry_after* seconds."""

    retry_after: int

    @property
    def message(self) -> str:
        """Say when to try again."""
        unit = "second" if self.retry_after == 1 else "seconds"
        return f"Too many failed logins. Try again in {self.retry_after} {unit}."


@attrs.define
class MfaThrottledError(LoginThrottledError):
    """Too many wrong second-factor codes on this account; try again in *retry_after* seconds."""

    @property
    def message(self) -> str:
        """Say when to try again."""
        unit = "second" if self.retry_after == 1 else "seconds"
        return f"Too many wrong codes. Try again in {self.retry_after} {unit}."


# --- 503, and operator errors -----------------------------------------------------------


@attrs.define
class OverloadedError(UserMgmtError):
    """More password hashing is waiting than can be done soon; try again in *retry_after* s.

    Raised before any work is queued: nothing was changed, counted or hashed.
    """

    retry_after: int

    @property
    def message(self) -> str:
        """Say when to try again."""
        unit = "second" if self.retry_after == 1 else "seconds"
        return (
            f"The service is too busy to check passwords; try again in {self.retry_after} {unit}."
        )


@attrs.define
class UnavailableError(UserMgmtError):
    """A backing service (the database) cannot be reached right now."""

    @property
    def message(self) -> str:
        """Say that the outage is temporary."""
        return "The database is unavailable; try again shortly."


@attrs.define
class MailDisabledError(UserMgmtError):
    """The service sends no mail (``USERMGMT_MAIL_URL=disabled``), so this flow is closed."""

    @property
    def message(self) -> str:
        """Say that the flow needs mail."""
        return "This service sends no mail, so this request cannot be served."


@attrs.define
class SchemaOutdatedError(UnavailableError):
    """The database lacks tables or columns this version needs: it was not migrated."""

    @property
    def message(self) -> str:
        """Say what the operator must do."""
        return "The database schema is not up to date; run `usermgmt db migrate`."


@attrs.define
class MailDeliveryError(UserMgmtError):
    """A message could not be handed to the mail server; *detail* says why (never a password)."""

    detail: str

    @property
    def message(self) -> str:
        """Say why the message was not sent."""
        return f"The message was not sent: {self.detail}"


@attrs.define
class TransientMailError(MailDeliveryError):
    """The same message may go through later: the server is down, slow or said "try again"."""


@attrs.define
class PermanentMailError(MailDeliveryError):
    """Sending this message again as it is will fail again: refused credentials or recipient."""


@attrs.define
class ConfigurationError(UserMgmtError):
    """The service is configured in a way it refuses to run with."""

    detail: str

    @property
    def message(self) -> str:
        """Say what to fix."""
        return self.detail


@attrs.define
class MigrationError(UserMgmtError):
    """The database schema cannot be brought up to date safely."""

    detail: str

    @property
    def message(self) -> str:
        """Say what is wrong with the migrations."""
        return self.detail
