"""The WebAuthn relying party: the options of a ceremony, and the checks of its answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from usermgmt.domain.model import User
from usermgmt.domain.passkeys import (
    NewPasskey,
    PasskeyCredential,
    ResponseJSON,
    VerifiedAssertion,
)


class PasskeyVerifier(Protocol):
    """Writes ceremony options and verifies responses for one relying party (RP id, origins).

    Every check WebAuthn asks of a relying party is made here (type, challenge,
    origin, RP id hash, user presence and verification, signature, key),
    except two that need the stored state: the challenge being spent once, and
    the counter (:func:`~usermgmt.domain.passkeys.counter_accepts`).
    """

    def registration_options(
        self, *, user: User, challenge: bytes, exclude: Sequence[PasskeyCredential]
    ) -> dict[str, Any]:
        """Return ``PublicKeyCredentialCreationOptions`` JSON for *user* (a resident key)."""
        ...

    def verify_registration(self, response: ResponseJSON, *, challenge: bytes) -> NewPasskey:
        """Return the passkey a registration *response* to *challenge* proves.

        Raises:
            PasskeyRejectedError: it does not verify (field ``credential``).
        """
        ...

    def authentication_options(self, *, challenge: bytes) -> dict[str, Any]:
        """Return ``PublicKeyCredentialRequestOptions`` JSON for a discoverable sign-in."""
        ...

    def credential_id(self, response: ResponseJSON) -> bytes | None:
        """Return the credential ID an authentication *response* names (``None``: none)."""
        ...

    def verify_authentication(
        self, response: ResponseJSON, *, challenge: bytes, user: User, passkey: PasskeyCredential
    ) -> VerifiedAssertion:
        """Check an authentication *response* to *challenge* by *user*'s *passkey*.

        The counter is returned, not compared.

        Raises:
            PasskeyRejectedError: it does not verify.
        """
        ...
