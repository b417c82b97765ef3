"""Entities and value objects: users, sessions, tokens, pages.

Plain synchronous code with no I/O: time and ids are passed in.

Past 300 lines, kept as one module: these are the nouns every layer and the
public API import together (``User``, ``Session``, ``TokenPair``,
``Principal``, ``SYSTEM``, the pages), each a short attrs class. Newer
concepts with rules of their own live beside it (``credentials``,
``devices``, ``onetime``), and so will the second factors'.
"""

from __future__ import annotations

import enum
import hashlib
import unicodedata
from datetime import datetime, timedelta
from typing import Final, NewType
from uuid import UUID

import attrs

from usermgmt.domain.errors import InvalidEmailError, ValidationError, ValueTooLongError
from usermgmt.domain.text import BIDI_CONTROLS, LINE_SEPARATORS, is_control, nfkc_casefold

UserId = NewType("UserId", UUID)
SessionId = NewType("SessionId", UUID)
TokenId = NewType("TokenId", UUID)

EMAIL_MAX_LENGTH: Final = 254
NAME_MAX_LENGTH: Final = 200
USER_AGENT_MAX_LENGTH: Final = 512
"""A ``User-Agent`` header is kept up to this many characters (the SPEC's "truncated")."""
IP_MAX_LENGTH: Final = 128
"""A client address is never longer than this; anything longer is cut."""
PASSWORD_AMR: Final = ("pwd",)
"""How a session signed in with a password alone was authenticated (RFC 8176)."""


class Role(enum.StrEnum):
    """What a user may do beyond managing their own account."""

    USER = "user"
    ADMIN = "admin"


@attrs.frozen
class Email:
    """A validated email address: the form shown and stored, and the key it is compared by.

    *value* is email-validator's normalization, lowercased: what the user sees.
    *key* is the ``NFKC_Casefold`` of *value* (:func:`~usermgmt.domain.text.nfkc_casefold`):
    the uniqueness and look-up key. Two ``Email`` values are equal when their
    keys are, which is the service's notion of "the same account":
    ``ΟΔΥΣΣΕΑΣ@example.gr`` and ``οδυσσεασ@example.gr`` are one address.
    """

    value: str = attrs.field(eq=nfkc_casefold)  # compared and hashed by the key

    @property
    def key(self) -> str:
        """The ``NFKC_Casefold`` of the address: how it is unique and looked up."""
        return nfkc_casefold(self.value)

    @classmethod
    def parse(cls, raw: str) -> Email:
        """Validate and normalize *raw*.

        Raises:
            InvalidEmailError: *raw* is not a syntactically valid address.
            ValueTooLongError: *raw* is longer than 254 characters.
        """
        candidate = raw.strip()
        if len(candidate) > EMAIL_MAX_LENGTH:
            raise ValueTooLongError("email", f"must be at most {EMAIL_MAX_LENGTH} characters")
        # Imported on first use: its patterns take longer to compile than the CLI's --help.
        import email_validator  # noqa: PLC0415

        try:
            checked = email_validator.validate_email(
                candidate, check_deliverability=False, allow_smtputf8=True
            )
        except email_validator.EmailNotValidError as exc:
            raise InvalidEmailError("email", str(exc)) from None
        return cls(checked.normalized.lower())

    def __str__(self) -> str:
        """Return the address itself."""
        return self.value


def clean_name(raw: str) -> str:
    """Return *raw* as a display name: NFC-normalized and trimmed.

    A name is shown in logs, mail and an operator's terminal, so it may hold
    nothing that forges text there: no control character (C0 such as TAB, LF
    or ESC, DEL, C1), no line separator, no bidirectional override or isolate.

    Raises:
        ValueTooLongError: the name is longer than 200 characters.
        ValidationError: the name holds one of the characters above; the
            reason says which rule.
    """
    name = unicodedata.normalize("NFC", raw)
    if any(is_control(c) or c in LINE_SEPARATORS for c in name):
        raise ValidationError("name", "must not contain control characters or line breaks")
    if any(c in BIDI_CONTROLS for c in name):
        raise ValidationError(
            "name",
            "must not contain bidirectional override or isolate characters "
            "(U+202A to U+202E, U+2066 to U+2069)",
        )
    name = name.strip()
    if len(name) > NAME_MAX_LENGTH:
        raise ValueTooLongError("name", f"must be at most {NAME_MAX_LENGTH} characters")
    return name


@attrs.frozen(kw_only=True)
class User:
    """A person who can sign in; changes return a new ``User``.

    What they sign in with (a password) is not part of the user: see
    :mod:`usermgmt.domain.credentials`.

    *email_verified* says whether the owner of *email* proved it is theirs
    (a verification link, or a password reset mailed to it); *pending_email*
    is the address a self-service change waits to confirm, if any.
    """

    id: UserId
    email: Email
    name: str
    role: Role
    is_active: bool
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    email_verified: bool = False
    pending_email: Email | None = None
    mfa_enabled: bool = False
    """Whether login asks for a second factor (a confirmed TOTP key) after the password."""

    @classmethod
    def register(
        cls,
        *,
        id: UserId,
        email: Email,
        name: str,
        now: datetime,
        role: Role = Role.USER,
    ) -> User:
        """Create a new active user; their password is a credential of its own."""
        return cls(
            id=id,
            email=email,
            name=clean_name(name),
            role=role,
            is_active=True,
            created_at=now,
            updated_at=now,
        )

    @property
    def is_admin(self) -> bool:
        """Whether this user holds the admin role."""
        return self.role is Role.ADMIN

    @property
    def is_deleted(self) -> bool:
        """Whether this user has been soft-deleted."""
        return self.deleted_at is not None

    @property
    def can_sign_in(self) -> bool:
        """Whether this account may authenticate at all."""
        return self.is_active and not self.is_deleted

    @property
    def is_active_admin(self) -> bool:
        """Whether this user counts towards the "at least one admin" rule."""
        return self.is_admin and self.can_sign_in

    def changed(
        self,
        *,
        now: datetime,
        name: str | None = None,
        email: Email | None = None,
        role: Role | None = None,
        is_active: bool | None = None,
        email_verified: bool | None = None,
    ) -> User:
        """Return this user with the given fields replaced (``None`` keeps a field).

        A new *email* applies at once (as an admin's change does): it is not
        verified (unless *email_verified* says so) and no change waits any more.
        """
        new_email = email is not None and email != self.email
        verified = False if new_email else self.email_verified
        return attrs.evolve(
            self,
            name=self.name if name is None else clean_name(name),
            email=self.email if email is None else email,
            role=self.role if role is None else role,
            is_active=self.is_active if is_active is None else is_active,
            email_verified=verified if email_verified is None else email_verified,
            pending_email=None if new_email else self.pending_email,
            updated_at=now,
        )

    def verified(self, now: datetime) -> User:
        """Return this user with their address proven theirs."""
        if self.email_verified:
            return self
        return attrs.evolve(self, email_verified=True, updated_at=now)

    def email_change_requested(self, email: Email, now: datetime) -> User:
        """Return this user waiting to confirm *email*; a newer request replaces an older one."""
        return attrs.evolve(self, pending_email=email, updated_at=now)

    def email_change_confirmed(self, email: Email, now: datetime) -> User:
        """Return this user on the confirmed *email*, verified, with no change waiting."""
        return attrs.evolve(
            self, email=email, email_verified=True, pending_email=None, updated_at=now
        )

    def with_mfa(self, *, enabled: bool, now: datetime) -> User:
        """Return this user with a second factor required at login from *now* on, or not."""
        return attrs.evolve(self, mfa_enabled=enabled, updated_at=now)

    def deleted(self, now: datetime) -> User:
        """Return this user soft-deleted at *now*."""
        return attrs.evolve(self, deleted_at=now, updated_at=now)

    def restored(self, now: datetime) -> User:
        """Return this user no longer deleted, and active: a restore brings sign-in back."""
        return attrs.evolve(self, deleted_at=None, is_active=True, updated_at=now)


@attrs.frozen(kw_only=True)
class Session:
    """One sign-in: lives until it expires (absolute lifetime) or is revoked.

    It remembers where it was started from (*ip*, *user_agent*: ``None`` when
    unknown, as for a sign-in from a script), how the user proved who they are
    (*amr*, RFC 8176 method names) and when it was last used (*last_used_at*:
    its start, then each refresh; reads with its access tokens do not count).
    """

    id: SessionId
    user_id: UserId
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime
    revoked_at: datetime | None = None
    ip: str | None = None
    user_agent: str | None = None
    amr: tuple[str, ...] = PASSWORD_AMR

    @classmethod
    def start(
        cls,
        *,
        id: SessionId,
        user_id: UserId,
        now: datetime,
        lifetime: timedelta,
        ip: str = "",
        user_agent: str = "",
        amr: tuple[str, ...] = PASSWORD_AMR,
    ) -> Session:
        """Begin a session at *now* that ends at the latest after *lifetime*.

        An empty *ip* or *user_agent* is unknown; a long user agent is cut to
        :data:`USER_AGENT_MAX_LENGTH` characters.
        """
        return cls(
            id=id,
            user_id=user_id,
            created_at=now,
            expires_at=now + lifetime,
            last_used_at=now,
            ip=ip[:IP_MAX_LENGTH] or None,
            user_agent=user_agent[:USER_AGENT_MAX_LENGTH] or None,
            amr=amr,
        )

    def is_live(self, now: datetime) -> bool:
        """Whether tokens of this session may still be honoured at *now*."""
        return self.revoked_at is None and now < self.expires_at


def hash_token(token: str) -> bytes:
    """Return the digest under which a random token is stored (never the token itself).

    Refresh, device and one-time tokens alike. SHA-256 suffices: each token is
    256 random bits, so no slow hash is needed to resist guessing, and a
    database leak cannot be replayed. Any string has a digest, lone surrogates
    included, so a malformed token is simply one that matches nothing.
    """
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


hash_refresh_token: Final = hash_token
"""The digest a refresh token is stored under (:func:`hash_token`)."""


@attrs.frozen(kw_only=True)
class RefreshToken:
    """The stored form of one refresh token of a session."""

    token_hash: bytes = attrs.field(repr=False)
    session_id: SessionId
    issued_at: datetime
    spent_at: datetime | None = None


@attrs.frozen(kw_only=True)
class SpendOutcome:
    """What presenting a refresh token found: the token and whether this call spent it."""

    token: RefreshToken
    spent_now: bool


@attrs.frozen(kw_only=True)
class AccessClaims:
    """What an access token asserts; the codec adds issuer and audience."""

    subject: UserId
    session_id: SessionId
    token_id: TokenId
    role: Role
    issued_at: datetime
    expires_at: datetime
    amr: tuple[str, ...] = PASSWORD_AMR
    """How the session was authenticated (RFC 8176), as the ``amr`` claim says."""


@attrs.frozen(kw_only=True)
class TokenPair:
    """What a successful login or refresh hands to the client."""

    access_token: str = attrs.field(repr=False)
    refresh_token: str = attrs.field(repr=False)
    expires_in: int
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    device_token: str | None = attrs.field(default=None, repr=False)
    """Set by a login only: the device's proof that it signed in before."""


@attrs.frozen(kw_only=True)
class Principal:
    """An authenticated caller: a live user in a live session, read fresh from storage."""

    user: User
    session_id: SessionId


@attrs.frozen
class SystemActor:
    """The operator (CLI, scripts): may do anything the rules allow any admin."""


SYSTEM: Final = SystemActor()
"""The actor for operator tools and trusted scripts."""

Actor = Principal | SystemActor
"""Who is asking: decides what a use case allows."""


@attrs.frozen(kw_only=True)
class UserPage:
    """One numbered page of users, with the total among the listed kind."""

    items: tuple[User, ...]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """The number of pages at this page size."""
        return -(-self.total // self.per_page)


@attrs.frozen(kw_only=True)
class UserSlice:
    """One cursor page of users; *next_cursor* is ``None`` after the last."""

    items: tuple[User, ...]
    next_cursor: str | None
