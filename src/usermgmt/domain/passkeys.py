"""Passkeys: WebAuthn credentials, the ceremonies that make and use them, the counter rule.

A passkey is a credential of the ``passkey`` kind: the authenticator's
credential ID (what the client names it by), its public key, and what the
relying party keeps beside them: the signature counter, a name the user
chose, the transports, whether it is backed up (synced), the model's AAGUID.

A ceremony is one registration or one sign-in in progress: a challenge of
:data:`CHALLENGE_BYTES` random bytes the server keeps, spent by the response
that answers it, and void after :data:`CEREMONY_LIFETIME`. A registration is
bound to the user who began it; a sign-in to nobody (the credential names
its account: nothing to enumerate).
"""

from __future__ import annotations

import enum
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar, Final, NewType
from uuid import UUID

import attrs

from usermgmt.domain.credentials import CredentialId, CredentialKind
from usermgmt.domain.errors import ValidationError
from usermgmt.domain.model import UserId
from usermgmt.domain.text import is_control

CHALLENGE_BYTES: Final = 32
"""256 bits from :mod:`secrets`: WebAuthn asks for at least 16, the contract for 32."""
CEREMONY_LIFETIME: Final = timedelta(minutes=5)
"""How long a challenge may be answered."""
PASSKEY_NAME_MAX_LENGTH: Final = 64
DEFAULT_PASSKEY_NAME: Final = "Passkey"
HARDWARE_KEY_AMR: Final = ("hwk",)
"""RFC 8176: proof of possession of a hardware-secured key (with user verification)."""

CeremonyId = NewType("CeremonyId", UUID)

ResponseJSON = Mapping[str, Any]
"""A ``RegistrationResponseJSON`` or ``AuthenticationResponseJSON`` as the browser sent it."""


class CeremonyKind(enum.StrEnum):
    """What a ceremony's challenge may be spent on."""

    REGISTRATION = "registration"
    AUTHENTICATION = "authentication"


@attrs.frozen(kw_only=True)
class Ceremony:
    """One ceremony's stored challenge; *user_id* is the registering user (``None`` to sign in)."""

    id: CeremonyId
    kind: CeremonyKind
    challenge: bytes = attrs.field(repr=False)
    user_id: UserId | None
    created_at: datetime
    expires_at: datetime

    @classmethod
    def begin(cls, *, kind: CeremonyKind, user_id: UserId | None, now: datetime) -> Ceremony:
        """Start a ceremony at *now* with a fresh random id and challenge, for 5 minutes."""
        return cls(
            id=CeremonyId(uuid.uuid4()),
            kind=kind,
            challenge=secrets.token_bytes(CHALLENGE_BYTES),
            user_id=user_id,
            created_at=now,
            expires_at=now + CEREMONY_LIFETIME,
        )


@attrs.frozen(kw_only=True)
class PasskeyCredential:
    """A user's passkey as the relying party keeps it; never its private key, which it never sees.

    *credential_id* is the authenticator's ID for it, *public_key* the COSE
    key it signs with, *sign_count* the last signature counter seen (0 for a
    passkey that does not count, as synced ones do).
    """

    kind: ClassVar[CredentialKind] = CredentialKind.PASSKEY

    id: CredentialId
    user_id: UserId
    credential_id: bytes
    public_key: bytes = attrs.field(repr=False)
    sign_count: int
    name: str
    transports: tuple[str, ...] = ()
    backed_up: bool = False
    aaguid: str = ""
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None = None


@attrs.frozen(kw_only=True)
class PasskeyCeremony:
    """A ceremony begun: its id, to send back with the response, and the options for the browser.

    *options* is ``PublicKeyCredentialCreationOptions`` or
    ``PublicKeyCredentialRequestOptions`` JSON, ready for
    ``PublicKeyCredential.parseCreationOptionsFromJSON`` (or ``...RequestOptions...``).
    """

    ceremony_id: CeremonyId
    options: Mapping[str, Any]


@attrs.frozen(kw_only=True)
class NewPasskey:
    """What a verified registration response proves: the credential to store."""

    credential_id: bytes
    public_key: bytes = attrs.field(repr=False)
    sign_count: int
    transports: tuple[str, ...]
    backed_up: bool
    aaguid: str


@attrs.frozen(kw_only=True)
class VerifiedAssertion:
    """What a verified authentication response proves: the counter and backup state it reported."""

    sign_count: int
    backed_up: bool


def counter_accepts(stored: int, presented: int) -> bool:
    """Whether an assertion's counter *presented* may follow the *stored* one.

    A credential that counts must count up: a counter that stands still or
    goes back means a cloned authenticator (WebAuthn §6.1.1). A credential
    that never counted (both 0, as synced passkeys) has nothing to compare.
    """
    if stored == 0 and presented == 0:
        return True
    return presented > stored


def clean_passkey_name(name: str | None) -> str:
    """Return the name a user gave a passkey, trimmed, or the default one.

    Raises:
        ValidationError: it is too long or holds control characters.
    """
    if name is None or not name.strip():
        return DEFAULT_PASSKEY_NAME
    cleaned = name.strip()
    if len(cleaned) > PASSKEY_NAME_MAX_LENGTH:
        raise ValidationError("name", f"must be at most {PASSKEY_NAME_MAX_LENGTH} characters")
    if any(is_control(c) for c in cleaned):
        raise ValidationError("name", "must not contain control characters")
    return cleaned
